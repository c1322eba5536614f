// Live calls: replace the table body with each "calls" snapshot from the event stream.
// Plain DOM and textContent only (no HTML from the server is ever injected).
"use strict";
(function () {
  const table = document.getElementById("live-calls");
  if (!table || !window.EventSource) return;
  const body = table.tBodies[0];
  const status = document.getElementById("live-status");
  const columns = ["started_at", "direction", "state", "caller", "callee", "did", "agent_endpoint"];

  function when(iso) {
    const d = new Date(iso);
    return isNaN(d) ? iso : d.toISOString().slice(0, 19).replace("T", " ");
  }

  function render(calls) {
    const rows = calls.map(function (call) {
      const tr = document.createElement("tr");
      columns.forEach(function (key) {
        const td = document.createElement("td");
        const value = call[key];
        td.textContent = value == null ? "" : key === "started_at" ? when(value) : String(value);
        tr.appendChild(td);
      });
      return tr;
    });
    if (!rows.length) {
      const tr = document.createElement("tr");
      tr.className = "empty";
      const td = document.createElement("td");
      td.colSpan = columns.length;
      td.textContent = "No calls in progress.";
      tr.appendChild(td);
      rows.push(tr);
    }
    body.replaceChildren.apply(body, rows);
    if (status) status.textContent = calls.length + " in progress";
  }

  const source = new EventSource(table.dataset.stream);
  source.addEventListener("calls", function (ev) { render(JSON.parse(ev.data)); });
  source.addEventListener("unavailable", function () {
    if (status) status.textContent = "live data unavailable, retrying";
  });
})();
