// Live calls: replace the table body with each "calls" snapshot from the event stream.
// Plain DOM and textContent only (no HTML from the server is ever injected). Words, labels and
// times follow the page: its data-i18n JSON (web/i18n.py client_config) gives the locale, the
// tenant's time zone, the labels of directions and call phases, and the sentences used here.
"use strict";
(function () {
  const table = document.getElementById("live-calls");
  if (!table || !window.EventSource) return;
  const body = table.tBodies[0];
  const status = document.getElementById("live-status");
  const columns = ["started_at", "direction", "state", "caller", "callee", "did", "agent_endpoint"];
  const i18n = JSON.parse(table.dataset.i18n || "{}");
  const words = i18n.t || {};
  const labels = i18n.labels || {};
  const kinds = { direction: "direction", state: "call_phase" };
  const agents = JSON.parse(table.dataset.agents || "{}"); // phone endpoint → agent's name
  const supervise = document.getElementById("supervise-row"); // supervisors' buttons, if any
  let format = null;
  try {
    format = new Intl.DateTimeFormat(i18n.locale || undefined, {
      timeZone: i18n.zone || undefined, dateStyle: "short", timeStyle: "short",
    });
  } catch (e) {
    format = null; // an unknown zone or locale: fall back to the browser's own
  }

  function when(iso) {
    const d = new Date(iso);
    if (isNaN(d)) return iso;
    return format ? format.format(d) : d.toLocaleString();
  }

  function cell(key, value) {
    if (value == null) return "";
    if (key === "started_at") return when(value);
    if (key === "agent_endpoint") return agents[value] || String(value);
    const kind = kinds[key];
    return (kind && labels[kind] && labels[kind][value]) || String(value);
  }

  function render(calls) {
    const rows = calls.map(function (call) {
      const tr = document.createElement("tr");
      columns.forEach(function (key) {
        const td = document.createElement("td");
        const value = call[key];
        td.textContent = cell(key, value);
        tr.appendChild(td);
      });
      if (supervise) {
        const td = document.createElement("td");
        if (call.state === "talking" && call.agent_endpoint) {
          const buttons = supervise.content.cloneNode(true);
          buttons.querySelector("input[name=target]").value = "call:" + call.call_id;
          td.appendChild(buttons);
        }
        tr.appendChild(td);
      }
      return tr;
    });
    if (!rows.length) {
      const tr = document.createElement("tr");
      tr.className = "empty";
      const td = document.createElement("td");
      td.colSpan = columns.length + (supervise ? 1 : 0);
      td.textContent = words.no_calls || "No calls in progress.";
      tr.appendChild(td);
      rows.push(tr);
    }
    body.replaceChildren.apply(body, rows);
    if (status) status.textContent = (words.in_progress || "{n} in progress").replace("{n}", calls.length);
  }

  const source = new EventSource(table.dataset.stream);
  source.addEventListener("calls", function (ev) { render(JSON.parse(ev.data)); });
  source.addEventListener("unavailable", function () {
    if (status) status.textContent = words.unavailable || "live data unavailable, retrying";
  });
})();
