// The recordings page's "download selected as ZIP": the checked ids go to
// POST /api/v1/recordings/exports and the progress is shown by export_progress.js (shared
// with the reports' export). No inline script (CSP): the page gives the URL, the CSRF token
// and labels as data attributes.
"use strict";
(function () {
  const box = document.getElementById("zip-export");
  if (!box) return;
  const start = document.getElementById("zip-start");
  const bar = document.getElementById("zip-bar");
  const status = document.getElementById("zip-status");
  const all = document.getElementById("zip-all");
  const picks = () => Array.from(document.querySelectorAll("input.zip-pick"));
  if (all) all.addEventListener("change", () => picks().forEach((p) => { p.checked = all.checked; }));

  start.addEventListener("click", () => {
    const ids = picks().filter((p) => p.checked).map((p) => Number(p.value));
    if (!ids.length) { status.textContent = box.dataset.none; return; }
    window.CentralaExport.run({ box: box, bar: bar, status: status, button: start,
                                body: { ids: ids } });
  });
})();
