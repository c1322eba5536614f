// The contact import's page: polls GET /api/v1/imports/<id> every second and moves the
// progress bar and the counts until the import is done or failed. While the API fails
// (network, a restart) it waits longer each time, up to ten seconds, and says so.
// No inline script (CSP): the page gives the URL, state and labels in data attributes.
"use strict";
(function () {
  const box = document.getElementById("import");
  if (!box) return;
  const url = box.dataset.progressUrl;
  const labels = JSON.parse(box.dataset.states || "{}");
  const bar = document.getElementById("import-bar");
  const retry = document.getElementById("import-retry");
  const link = document.getElementById("rejected-link");
  const total = Number(box.dataset.total) || 1;
  const STEP_MS = 1000, MAX_MS = 10000;
  let wait = STEP_MS;

  function finished(state) { return state === "done" || state === "failed"; }

  function show(p) {
    for (const name of ["rows_read", "imported", "updated", "rejected"]) {
      const cell = box.querySelector('[data-field="' + name + '"]');
      if (cell) cell.textContent = String(p[name]);
    }
    box.querySelector('[data-field="state"]').textContent = labels[p.state] || p.state;
    box.dataset.state = p.state;
    const error = box.querySelector('[data-field="error"]');
    error.textContent = p.error || "";
    error.hidden = !p.error;
    bar.max = total;
    bar.value = finished(p.state) ? total : Math.min(p.rows_read, total);
    link.hidden = !(p.rejected > 0);
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (resp) {
        if (!resp.ok) throw new Error("HTTP " + resp.status);
        return resp.json();
      })
      .then(function (p) {
        retry.hidden = true;
        wait = STEP_MS;
        show(p);
        if (!finished(p.state)) setTimeout(poll, wait);
      })
      .catch(function () {
        retry.hidden = false;
        wait = Math.min(wait * 2, MAX_MS);
        setTimeout(poll, wait);
      });
  }

  if (!finished(box.dataset.state)) setTimeout(poll, STEP_MS);
})();
