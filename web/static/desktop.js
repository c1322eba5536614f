// The agent desktop card on /agent: the current interaction, live over server-sent events
// (/agent/interaction/stream; no polling), the wrap-up form, the screen pop and keyboard
// shortcuts. The server sends the whole card (JSON) whenever it changes; this paints it
// with textContent only (never HTML from data). Timers run here from the card's times.
// The webphone is driven only through its own buttons (webphone.js owns it). Each card is
// also announced to the page ("centrala:card" on document, root data-live="1" while the
// stream delivers), so "my status" above needs no polling of its own.
"use strict";
(function () {
  const root = document.getElementById("desktop");
  if (!root || !window.EventSource) return;
  const $ = function (id) { return document.getElementById(id); };
  const words = JSON.parse(root.dataset.text || "{}");
  const i18n = JSON.parse(root.dataset.i18n || "{}");
  const statusLabels = (i18n.labels || {}).agent_status || {};
  let card = null;
  let popped = {};
  let format = null;
  try {
    format = new Intl.DateTimeFormat(i18n.locale || undefined, {
      timeZone: i18n.zone || undefined, dateStyle: "short", timeStyle: "short" });
  } catch (e) { format = null; }

  function when(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    return isNaN(d) ? iso : (format ? format.format(d) : d.toLocaleString());
  }
  function secs(value) {
    if (value == null) return "";
    let s = Math.max(0, Math.round(value));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    s = s % 60;
    return (h ? h + ":" + String(m).padStart(2, "0") : String(m)) + ":" + String(s).padStart(2, "0");
  }
  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); }
  function pairs(dl, obj) {
    clear(dl);
    Object.keys(obj).forEach(function (k) {
      const dt = document.createElement("dt"), dd = document.createElement("dd");
      dt.textContent = words[k] || k;
      dd.textContent = obj[k] == null ? "" : String(obj[k]);
      dl.appendChild(dt); dl.appendChild(dd);
    });
  }

  function historyLine(e) {
    const parts = [when(e.at), words[e.kind] || e.kind];
    if (e.kind === "call") {
      parts.push(words[e.direction] || e.direction);
      parts.push(words[e.answered ? "answered" : "missed"]);
      if (e.disposition_label || e.disposition) parts.push(e.disposition_label || e.disposition);
      if (e.note) parts.push("„" + e.note + "”");
    } else if (e.kind === "attempt") {
      parts.push(e.campaign || "");
      if (e.disposition_label) parts.push(e.disposition_label);
    } else if (e.kind === "recontact") {
      parts.push(e.campaign || "");
      if (e.note) parts.push("„" + e.note + "”");
    } else if (e.kind === "campaign_record") {
      parts.push(e.campaign || "");
    } else if (e.kind === "ticket") {
      parts.push("#" + e.number, e.subject || "");
    } else if (e.kind === "message") {
      parts.push(words[e.channel] || e.channel, words[e.direction === "in" ? "from_customer" : "to_customer"],
                 "#" + e.ticket_number, "„" + (e.text || "") + "”");
    } else if (e.kind === "chat") {
      if (e.agent) parts.push(e.agent);
      if (e.ticket_number) parts.push("#" + e.ticket_number);
    }
    return parts.filter(Boolean).join(" · ");
  }

  function paintContact(call) {
    const cell = $("dk-contact");
    clear(cell);
    const c = call.contact;
    $("dk-new-contact").hidden = true;
    if (c) {
      const base = root.dataset.contact;
      const name = c.name || ("#" + c.id);
      if (base) {
        const a = document.createElement("a");
        a.href = base.replace(/\/0$/, "/" + c.id);
        a.textContent = name;
        cell.appendChild(a);
      } else {
        cell.textContent = name;
      }
    } else {
      // anyone creates the caller's contact right here (the number is the call's)
      cell.textContent = words.unknown;
      $("dk-new-contact").hidden = false;
    }
    const list = $("dk-history");
    clear(list);
    const items = (c && c.history) || [];
    items.forEach(function (e) {
      const li = document.createElement("li");
      li.textContent = historyLine(e);
      list.appendChild(li);
    });
    if (!items.length) {
      const li = document.createElement("li");
      li.className = "muted";
      li.textContent = "–";
      list.appendChild(li);
    }
  }

  function paintDispositions(list, chosen) {
    const sel = $("dk-disposition");
    const keep = chosen != null ? chosen : sel.value;
    while (sel.options.length > 1) sel.remove(1);
    list.forEach(function (d) {
      const o = document.createElement("option");
      o.value = d.code; o.textContent = d.label || d.code;
      sel.appendChild(o);
    });
    sel.value = keep || "";
  }

  let wrapCall = null;  // the call the wrap-up form is for (kept after the call ends)
  // A blind transfer of the call in progress: to a queue, to a colleague (through the
  // call's queue: rung first, then the queue) or to a phone number.
  let transferFor = null;
  function option(group, value, label, disabled) {
    const o = document.createElement("option");
    o.value = value; o.textContent = label; o.disabled = !!disabled;
    group.appendChild(o);
  }
  function paintTransfer(call, queues, agents) {
    const form = $("dk-transfer");
    form.hidden = call.status !== "talking" || !["inbound", "campaign"].includes(call.direction);
    if (transferFor === call.call_id) return;
    transferFor = call.call_id;
    $("dk-transfer-result").textContent = "";
    const qs = $("dk-transfer-queues"), ags = $("dk-transfer-agents");
    clear(qs); clear(ags);
    queues.forEach(function (q) { option(qs, "queue:" + q.id, q.name, q.name === call.queue); });
    if (call.queue) agents.forEach(function (a) { option(ags, "agent:" + a.id, a.name); });
    ags.hidden = !call.queue || !agents.length;
    const first = form.querySelector("option:not([disabled])");
    $("dk-transfer-queue").value = first ? first.value : "number";
    $("dk-transfer-number").hidden = $("dk-transfer-queue").value !== "number";
  }
  function paintConsult(call) {
    const c = call && call.status === "talking" ? call.consult : null;
    $("dk-consulting").hidden = !c;
    if (c) {
      $("dk-consult-state").textContent = (words[c.answered ? "consult_talking" : "consult_ringing"] || "")
        .replace("{target}", c.target);
      $("dk-consult-complete").disabled = !c.answered;
    }
    $("dk-consult").disabled = !!c;
    $("dk-transfer").querySelector("button[type=submit]").disabled = !!c;
  }
  function transferTarget() {
    const choice = $("dk-transfer-queue").value;
    const kind = choice.split(":")[0], id = Number(choice.split(":")[1]);
    return kind === "queue" ? { queue_id: id } : kind === "agent" ? { agent_id: id }
      : { number: $("dk-transfer-number").value.replace(/[\s-]/g, "") };
  }
  function callApi(url, payload, done) {
    fetch(url.replace("CALL_ID", encodeURIComponent(card.call.call_id)), {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": root.dataset.csrf },
      body: JSON.stringify(payload)
    }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) { $("dk-transfer-result").textContent = (body.error && body.error.message) || String(r.status); return; }
        done(body);
      });
    }).catch(function (e) { $("dk-transfer-result").textContent = String(e); });
  }
  $("dk-consult").addEventListener("click", function () {
    if (!card || !card.call) return;
    const target = transferTarget();
    if (target.queue_id) { $("dk-transfer-result").textContent = words.consult_queue || ""; return; }
    callApi(root.dataset.consult, target, function () { $("dk-transfer-result").textContent = ""; });
  });
  ["complete", "cancel"].forEach(function (action) {
    $("dk-consult-" + action).addEventListener("click", function () {
      if (!card || !card.call) return;
      callApi(root.dataset.consult + "/" + action, {}, function () { $("dk-transfer-result").textContent = ""; });
    });
  });
  $("dk-transfer-queue").addEventListener("change", function () {
    const number = $("dk-transfer-queue").value === "number";
    $("dk-transfer-number").hidden = !number;
    $("dk-transfer-number").required = number;
    if (number) $("dk-transfer-number").focus();
  });

  function paint(doc) {
    const prev = card;
    card = doc;
    if (window.TicketOffers) window.TicketOffers.paint(doc.tickets);
    const call = doc.call;
    $("dk-call").hidden = !call;
    if (call) {
      $("dk-status").textContent = words[call.status];
      $("dk-status").className = "badge status-" + (call.status === "talking" ? "on_call" : "ringing");
      $("dk-number").textContent = call.number_national || call.number;
      $("dk-direction").textContent = words[call.direction] || call.direction;
      $("dk-queue").textContent = call.queue || "–";
      $("dk-did").textContent = call.did_national || call.did || "–";
      const ivr = call.ivr_variables || {};
      $("dk-ivr-row").hidden = !Object.keys(ivr).length;
      pairs($("dk-ivr"), ivr);
      const camp = call.campaign;
      $("dk-campaign-row").hidden = !camp;
      if (camp) pairs($("dk-campaign"), { campaign: camp.campaign, attempts: camp.attempts,
        state: camp.state, last_outcome: camp.last_outcome, priority: camp.priority });
      paintContact(call);
      paintTransfer(call, doc.queues || [], doc.agents || []);
      paintConsult(call);
      const sv = call.supervised;  // only when the tenant tells its agents
      $("dk-supervised").hidden = !sv;
      $("dk-supervised").textContent = sv ? (words["supervised_" + sv.mode] || sv.mode).replace("{name}", sv.by) : "";
      if (!wrapCall || wrapCall.call_id !== call.call_id) {
        wrapCall = call;
        $("dk-note").value = call.wrapup ? call.wrapup.note : "";
        $("dk-saved").textContent = "";
        paintDispositions(doc.dispositions, call.wrapup ? call.wrapup.disposition : "");
      }
      $("dk-wrapup").hidden = false;
      if (call.status === "talking" && call.screen_pop_url && !popped[call.call_id]) {
        popped[call.call_id] = true;
        screenPop(call.screen_pop_url, doc.screen_pop_mode);
      }
    } else {
      $("dk-supervised").hidden = true;
      $("dk-transfer").hidden = true;
      paintConsult(null);
      const st = doc.agent && doc.agent.status;
      $("dk-status").textContent = words.idle + (st ? " · " + (statusLabels[st] || st) : "");
      $("dk-status").className = "badge status-" + (st || "logged_out");
      $("dk-wrapup").hidden = !wrapCall;  // wrap up the call just ended
    }
    if (!prev) paintDispositions(doc.dispositions, null);
    tick();
  }

  function screenPop(url, mode) {
    if (!/^https?:\/\//i.test(url)) return;  // the server validated it; never a javascript: URL
    if (mode === "iframe") {
      $("dk-pop").src = url;
      $("dk-pop").hidden = false;
    } else {
      // (with noopener, window.open returns null whether or not a blocker stopped it)
      window.open(url, "_blank", "noopener,noreferrer");
    }
  }

  function tick() {
    if (!card) return;
    const call = card.call;
    let since = null;
    if (call) since = Date.parse(call.answered_at || call.started_at);
    else if (card.agent && card.agent.since_epoch) since = card.agent.since_epoch * 1000;
    $("dk-timer").textContent = since ? secs((Date.now() - since) / 1000) : "";
    if (call) {
      const wait = call.answered_at ? call.wait_s : (Date.now() - Date.parse(call.started_at)) / 1000;
      $("dk-wait").textContent = secs(wait);
    }
  }
  window.setInterval(tick, 1000);

  function showError(text) {
    $("dk-error").textContent = text || "";
    $("dk-error").hidden = !text;
  }

  function connect() {
    const es = new EventSource(root.dataset.stream);
    es.addEventListener("card", function (ev) {
      showError("");
      let doc = null;
      try { doc = JSON.parse(ev.data); } catch (e) { return; /* malformed: keep the last one */ }
      root.dataset.live = "1";
      paint(doc);
      // "My status" (acd.js) paints the card's agent row instead of polling for it.
      document.dispatchEvent(new CustomEvent("centrala:card", { detail: doc }));
    });
    es.addEventListener("unavailable", function () { root.dataset.live = "0"; showError(words.live_lost); });
    es.onerror = function () {
      root.dataset.live = "0";  // acd.js polls again until the stream is back
      if (es.readyState === EventSource.CLOSED) window.setTimeout(connect, 5000);
    };
  }
  connect();

  $("dk-transfer").addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (!card || !card.call) return;
    const payload = transferTarget();
    const picked = $("dk-transfer-queue").selectedOptions[0];
    fetch(root.dataset.transfer.replace("CALL_ID", encodeURIComponent(card.call.call_id)), {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": root.dataset.csrf },
      body: JSON.stringify(payload)
    }).then(function (r) {
      return r.json().then(function (body) {
        const said = body.number ? (words.transferred_number || "").replace("{number}", body.number)
          : body.agent ? (words.transferred_agent || "").replace("{agent}", picked ? picked.textContent : body.agent)
            .replace("{queue}", body.queue)
          : (words.transferred || "").replace("{queue}", body.queue);
        $("dk-transfer-result").textContent = r.ok ? said
          : ((body.error && body.error.message) || String(r.status));
        root.dataset.transferred = r.ok ? (body.queue || body.number || "") : "";
      });
    }).catch(function (e) { $("dk-transfer-result").textContent = String(e); });
  });

  $("dk-wrapup").addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (!wrapCall) return;
    const body = { note: $("dk-note").value };
    if ($("dk-disposition").value) body.disposition = $("dk-disposition").value;
    const rc = $("dk-recontact").value;
    if (rc) body.recontact_at = new Date(rc).toISOString();  // the browser's local time → UTC
    fetch(root.dataset.wrapup.replace("CALL_ID", encodeURIComponent(wrapCall.call_id)), {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": root.dataset.csrf },
      body: JSON.stringify(body),
    }).then(function (resp) {
      return resp.json().then(function (data) { return { ok: resp.ok, data: data }; });
    }).then(function (r) {
      if (r.ok) { $("dk-saved").textContent = words.saved; showError(""); }
      else showError(words.error.replace("{reason}", (r.data.error || {}).message || ""));
    }).catch(function () { showError(words.live_lost); });
  });

  $("dk-new-contact").addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (!card || !card.call) return;
    const form = ev.target;
    fetch(root.dataset.quickContact, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": root.dataset.csrf },
      body: JSON.stringify({ call_id: card.call.call_id, first_name: form.first_name.value,
                             last_name: form.last_name.value }),
    }).then(function (resp) {
      return resp.json().then(function (data) { return { ok: resp.ok, data: data }; });
    }).then(function (r) {
      if (!r.ok) { showError(words.error.replace("{reason}", (r.data.error || {}).message || "")); return; }
      showError("");
      card.call.contact = { id: r.data.contact_id, name: r.data.name, history: [] };
      paintContact(card.call);
    }).catch(function () { showError(words.live_lost); });
  });

  // ---- keyboard shortcuts (not while typing in a field) ----
  function click(selector) {
    const el = document.querySelector(selector);
    if (el && !el.hidden && !(el.closest("[hidden]"))) { el.click(); return true; }
    return false;
  }
  function toggleHelp(show) {
    $("dk-help").hidden = show == null ? !$("dk-help").hidden : !show;
  }
  $("dk-help-close").addEventListener("click", function () { toggleHelp(false); });
  document.addEventListener("keydown", function (ev) {
    const t = ev.target;
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
    const k = ev.key;
    let done = false;
    if (k === "?") { toggleHelp(); done = true; }
    else if (k === "Escape") { toggleHelp(false); }
    else if (k === "r" || k === "R") done = click('form[data-show] input[name=command][value=ready] ~ button');
    else if (k === "b" || k === "B") {
      const sel = document.querySelector('form[data-show] input[name=command][value=break] ~ select, form[data-show] input[name=command][value=break] ~ input[name=reason]');
      if (sel && !sel.closest("[hidden]")) { sel.focus(); done = true; }
    }
    else if (k === "a" || k === "A") done = click("#wp-answer");
    else if (k === "h" || k === "H") done = click("#wp-hangup");
    else if (k === "d" || k === "D") {
      if (!$("dk-wrapup").hidden) { $("dk-disposition").focus(); done = true; }
    }
    if (done) ev.preventDefault();
  });
})();
