// ACD pages (my status, agent board, queue wallboard): poll the JSON API every 2 s (my
// status: only while the agent page's card stream is down, see below) and
// update the cells marked data-field in place; forms marked data-show are shown only when
// the agent's status (or "pending" / "pending_break") matches. The server renders every
// row and every form (with its CSRF token), so nothing here builds HTML: textContent only.
// Without JavaScript the pages refresh themselves (<noscript> meta refresh).
// Words and times follow the page: its data-i18n JSON gives the locale, the tenant's time zone,
// the status labels and the few sentences written here (web/i18n.py client_config).
"use strict";
(function () {
  const POLL_MS = 2000;
  const root = document.querySelector("[data-poll]");
  if (!root || !window.fetch) return;
  const status = document.getElementById("poll-status");
  const i18n = JSON.parse(root.dataset.i18n || "{}");
  const words = i18n.t || {};
  const statusLabels = (i18n.labels || {}).agent_status || {};
  let format = null;
  try {
    format = new Intl.DateTimeFormat(i18n.locale || undefined, {
      timeZone: i18n.zone || undefined, dateStyle: "short", timeStyle: "short",
    });
  } catch (e) {
    format = null; // an unknown zone or locale: fall back to the browser's own
  }

  function say(key, values) {
    let s = words[key] || key;
    Object.keys(values || {}).forEach(function (k) { s = s.replace("{" + k + "}", values[k]); });
    return s;
  }

  function when(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    if (isNaN(d)) return iso;
    return format ? format.format(d) : d.toLocaleString();
  }

  function secs(value) {
    if (value == null) return "";
    let s = Math.round(value);
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    s = s % 60;
    const mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(s).padStart(2, "0");
  }

  function text(agent, field) {
    const v = agent[field];
    if (field === "since") return when(v);
    if (field === "status_label") return statusLabels[agent.status] || String(agent.status);
    if (field === "reachable") return v == null ? "" : say(v ? "reachable" : "unreachable");
    return v == null ? "" : String(v);
  }

  function shown(tokens, agent) {
    return tokens.split(" ").some(function (t) {
      if (t === "pending_break") return !!agent.pending_break;
      if (t === "pending") return !!(agent.pending_break || agent.deferred);
      return t === agent.status;
    });
  }

  function paintAgent(container, agent) {
    container.querySelectorAll("[data-field]").forEach(function (el) {
      el.textContent = text(agent, el.dataset.field);
      // The raw status is a hidden field; its badge (the parent) is coloured by it.
      if (el.dataset.field === "status") el.parentElement.className = "badge status-" + agent.status;
    });
    container.querySelectorAll("[data-show]").forEach(function (el) {
      el.hidden = !shown(el.dataset.show, agent);
    });
    // the supervisors' watch of each chat the agent holds (agents board)
    container.querySelectorAll("[data-chat-links]").forEach(function (el) {
      el.textContent = "";
      (agent.chat_ids || []).forEach(function (id) {
        const a = document.createElement("a");
        a.href = el.dataset.chatLinks + id + "/watch";
        a.textContent = el.dataset.label.replace("ID", String(id));
        el.appendChild(a);
        el.appendChild(document.createTextNode(" "));
      });
    });
  }

  function paintQueue(row, q) {
    row.querySelectorAll("[data-field]").forEach(function (el) {
      const path = el.dataset.field.split(".");
      let v = q;
      path.forEach(function (k) { v = v == null ? null : v[k]; });
      if (el.dataset.format === "secs") el.textContent = secs(v);
      else if (el.dataset.format === "pct") el.textContent = v == null ? "–" : v + "%";
      else el.textContent = v == null ? "" : String(v);
    });
  }

  function render(data) {
    if (root.id === "agent-me") {
      paintAgent(root, data.agent);
    } else if (root.id === "agent-board") {
      data.agents.forEach(function (a) {
        const row = root.querySelector('tr[data-user-id="' + a.user_id + '"]');
        if (row) paintAgent(row, a);
      });
      if (status) status.textContent = say("agents", { n: data.agents.length });
    } else if (root.id === "wallboard") {
      data.queues.forEach(function (q) {
        const row = root.querySelector('tr[data-queue-id="' + q.queue_id + '"]');
        if (row) paintQueue(row, q);
      });
      if (status) status.textContent = data.at ? say("as_of", { time: when(data.at) }) : say("no_stats");
    }
  }

  // On the agent page the desktop card's stream (desktop.js) carries the agent's own row:
  // paint it from there, and poll only while that stream is not delivering.
  const desk = root.id === "agent-me" ? document.getElementById("desktop") : null;
  if (desk) {
    document.addEventListener("centrala:card", function (ev) {
      if (ev.detail && ev.detail.agent) paintAgent(root, ev.detail.agent);
    });
  }

  function poll() {
    if (desk && desk.dataset.live === "1") { window.setTimeout(poll, POLL_MS); return; }
    fetch(root.dataset.poll, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (resp) {
        if (resp.status === 401) { window.location.reload(); return null; }
        return resp.ok ? resp.json() : null;
      })
      .then(function (data) { if (data) render(data); })
      .catch(function () { if (status) status.textContent = say("unavailable"); })
      .then(function () { window.setTimeout(poll, POLL_MS); });
  }

  window.setTimeout(poll, POLL_MS);
})();
