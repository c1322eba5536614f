// The live wallboard (page and big screen): one EventSource on /api/v1/wallboard/stream;
// each "board" event carries the whole board, and the three tables are rebuilt from it using
// the columns the server declared on their <th data-col data-format data-level>, so page
// and script format alike. textContent only: nothing from the server is parsed as HTML.
// Colour classes lvl-ok / lvl-warn / lvl-alarm come computed with the board (docs/wallboard.md).
// Double-click (or F) on the big screen toggles full screen.
"use strict";
(function () {
  const root = document.getElementById("wallboard-live");
  if (!root || !window.EventSource) return;
  const i18n = JSON.parse(root.dataset.i18n || "{}");
  const words = i18n.t || {};
  const statusLabels = (i18n.labels || {}).agent_status || {};
  const status = document.getElementById("wb-status");
  let clock = null;
  try {
    clock = new Intl.DateTimeFormat(i18n.locale || undefined, {
      timeZone: i18n.zone || undefined, timeStyle: "medium",
    });
  } catch (e) {
    clock = null;
  }
  const number = new Intl.NumberFormat(i18n.locale || undefined, { maximumFractionDigits: 1 });

  function secs(value) {
    let s = Math.round(value);
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    s = s % 60;
    const mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(s).padStart(2, "0");
  }

  function show(row, field, format) {
    const v = row[field];
    if (v == null) return "–";
    if (format === "secs") return secs(v);
    if (format === "pct") return number.format(v) + "%";
    if (format === "num") return number.format(v);
    if (format === "status") {
      const label = statusLabels[v] || String(v);
      return row.reason ? label + " (" + row.reason + ")" : label;
    }
    return String(v);
  }

  function paintTable(table, rows) {
    const cols = Array.from(table.querySelectorAll("th[data-col]")).map(function (th) {
      return { field: th.dataset.col, format: th.dataset.format, level: th.dataset.level };
    });
    const body = table.tBodies[0];
    const fresh = document.createElement("tbody");
    fresh.dataset.empty = body.dataset.empty || "";
    if (!rows.length) {
      const tr = fresh.insertRow();
      tr.className = "empty";
      const td = tr.insertCell();
      td.colSpan = cols.length;
      td.textContent = fresh.dataset.empty;
    }
    rows.forEach(function (row) {
      const tr = fresh.insertRow();
      cols.forEach(function (c) {
        const td = tr.insertCell();
        td.textContent = show(row, c.field, c.format);
        const level = c.level === "@" ? row.level : c.level ? (row.levels || {})[c.level] : null;
        const classes = [];
        if (c.format !== "text" && c.format !== "status") classes.push("num");
        if (level) classes.push("lvl-" + level);
        td.className = classes.join(" ");
      });
    });
    table.replaceChild(fresh, body);
  }

  function paint(board) {
    ["queues", "agents", "campaigns"].forEach(function (kind) {
      const table = root.querySelector('[data-wb="' + kind + '"]');
      if (table) paintTable(table, board[kind] || []);
    });
    const alerts = root.querySelector("[data-wb-alerts]");
    if (alerts) {
      const kinds = JSON.parse(alerts.dataset.kinds || "{}");
      alerts.replaceChildren();
      (board.alerts || []).forEach(function (a) {
        const li = document.createElement("li");
        let v = String(a.value);
        if (a.kind === "wait_over") v = secs(a.value);
        else if (a.kind === "service_level_under") v = number.format(a.value) + "%";
        else if (a.kind === "break_over") v = number.format(a.value) + " min";
        li.textContent = (kinds[a.kind] || a.kind) + ": " + a.subject + " (" + v + ")";
        alerts.appendChild(li);
      });
    }
    root.querySelectorAll("[data-total]").forEach(function (el) {
      let v = board.totals;
      el.dataset.total.split(".").forEach(function (k) { v = v == null ? null : v[k]; });
      el.textContent = v == null ? "–" : String(v);
    });
    if (status && board.at) {
      const d = new Date(board.at);
      status.textContent = clock ? clock.format(d) : d.toLocaleTimeString();
      status.classList.remove("stale");
    }
  }

  const source = new EventSource(root.dataset.stream);
  source.addEventListener("board", function (e) { paint(JSON.parse(e.data)); });
  source.addEventListener("unavailable", function () {
    if (status) { status.textContent = words.unavailable || "…"; status.classList.add("stale"); }
  });
  source.onerror = function () { if (status) status.classList.add("stale"); };

  if (document.body.classList.contains("wb-screen")) {
    const toggle = function () {
      if (document.fullscreenElement) document.exitFullscreen();
      else if (document.documentElement.requestFullscreen) document.documentElement.requestFullscreen();
    };
    document.addEventListener("dblclick", toggle);
    document.addEventListener("keydown", function (e) { if (e.key === "f" || e.key === "F") toggle(); });
  }
})();
