// Supervision from the live calls page and the agents board, without leaving the page.
//
// Theory of operation: the start buttons (form.supervise, one per talking call or agent, also
// those live.js redraws) and the bar's switch and stop buttons (#supervision-switch) are
// plain forms that post to /supervision and come back (they work without script). Here they
// are taken over: a start is POST /api/v1/supervision ({agent_id} or {call_id}, mode), a
// switch PATCH …/<id> ({mode}), a stop DELETE …/<id>; the answer (the session's row) redraws
// the bar (#supervision-bar) in place. The page never reloads, so a supervisor's webphone in
// it (web/static/webphone.js) keeps its call: listen → whisper → barge on one leg, as the
// daemon switches it. While a session is open the bar asks GET /api/v1/supervision every
// second: the phone answered ("your phone is ringing" goes), or the call ended (the bar goes).
// Refusals are shown by their error id in the page's language (data-text). Plain DOM and
// textContent only.
"use strict";
(function () {
  const bar = document.getElementById("supervision-bar");
  if (!bar || !window.fetch) return;
  const api = bar.dataset.api;
  const text = JSON.parse(bar.dataset.text || "{}");
  const problem = document.getElementById("supervision-error");
  const switcher = document.getElementById("supervision-switch");
  let timer = null;

  function say(message) {
    if (!problem) return;
    problem.textContent = message || "";
    problem.hidden = !message;
  }

  function refused(body, status) {
    const err = (body && body.error) || {};
    const why = (text.refusals || {})[err.id] || err.message || String(status);
    return (text.refused || "{why}").replace("{why}", why);
  }

  function render(session) {
    const open = !!session && session.state !== "ended";
    bar.hidden = !open;
    bar.dataset.session = open ? String(session.id) : "";
    bar.dataset.mode = open ? session.mode : "";
    bar.dataset.state = open ? session.state : "none";
    if (switcher) switcher.querySelector("input[name=session]").value = bar.dataset.session;
    if (!open) { stopPolling(); return; }
    document.getElementById("supervision-mode").textContent =
      (text.modes || {})[session.mode] || session.mode;
    document.getElementById("supervision-dialing").hidden = session.state !== "dialing";
    bar.querySelectorAll("button[name=mode]").forEach(function (b) {
      const on = b.value === session.mode;
      b.disabled = on;
      if (on) b.setAttribute("aria-pressed", "true"); else b.removeAttribute("aria-pressed");
    });
    startPolling();
  }

  function ask(method, path, body) {
    const options = { method: method, credentials: "same-origin",
                      headers: { "X-CSRF-Token": bar.dataset.csrf, "Accept": "application/json" } };
    if (body) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(path, options).then(function (r) {
      return r.json().catch(function () { return null; }).then(function (b) {
        if (!r.ok) throw new Error(refused(b, r.status));
        return b;
      });
    });
  }

  function refresh() {
    return ask("GET", api).then(function (b) { render(b.session); })
      .catch(function () { /* the next poll tries again */ });
  }

  function startPolling() { if (!timer) timer = window.setInterval(refresh, 1000); }
  function stopPolling() { if (timer) { window.clearInterval(timer); timer = null; } }

  function act(promise) {
    say("");
    bar.setAttribute("aria-busy", "true");
    promise.then(function (session) { render(session); })
      .catch(function (e) { say(e.message); refresh(); })
      .finally(function () { bar.removeAttribute("aria-busy"); });
  }

  document.addEventListener("submit", function (ev) {
    const form = ev.target, button = ev.submitter;
    if (!button) return;  // an old browser: the form posts as without script
    if (form.classList.contains("supervise")) {
      ev.preventDefault();
      const target = form.querySelector("input[name=target]").value;
      const kind = target.split(":", 1)[0], key = target.slice(kind.length + 1);
      const body = { mode: button.value };
      if (kind === "agent") body.agent_id = Number(key); else body.call_id = key;
      act(ask("POST", api, body));
    } else if (form === switcher) {
      ev.preventDefault();
      const path = api + "/" + encodeURIComponent(bar.dataset.session);
      act(button.name === "stop" ? ask("DELETE", path)
                                 : ask("PATCH", path, { mode: button.value }));
    }
  });

  if (bar.dataset.session) startPolling();
})();
