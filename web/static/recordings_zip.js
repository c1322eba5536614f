// The recordings page's "download selected as ZIP": posts the checked ids to
// POST /api/v1/recordings/exports, then polls GET /api/v1/recordings/exports/<id> every
// second and moves the progress bar until the ZIP is ready (then offers the link) or failed.
// While the API fails (network, a restart) it waits longer each time, up to ten seconds.
// No inline script (CSP): the page gives the URL, the CSRF token and labels as data attributes.
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

  function say(text, href) {
    status.textContent = text;
    if (href) {
      const a = document.createElement("a");
      a.href = href;
      a.textContent = box.dataset.download;
      status.append(" ", a);
    }
  }

  function poll(url, delay) {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
      .then((body) => {
        const e = body.export;
        bar.max = Math.max(1, e.total);
        bar.value = e.done;
        if (e.state === "done") { say(box.dataset.ready, e.download_url); start.disabled = false; return; }
        if (e.state === "failed") { say(box.dataset.failed); start.disabled = false; return; }
        say(box.dataset.building + " " + e.done + " / " + e.total);
        setTimeout(() => poll(url, 1000), 1000);
      })
      .catch(() => setTimeout(() => poll(url, Math.min(delay * 2, 10000)), delay));
  }

  start.addEventListener("click", () => {
    const ids = picks().filter((p) => p.checked).map((p) => Number(p.value));
    if (!ids.length) { say(box.dataset.none); return; }
    start.disabled = true;
    bar.hidden = false;
    bar.value = 0;
    say(box.dataset.building);
    fetch(box.dataset.url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json",
                 "X-CSRF-Token": box.dataset.csrf },
      body: JSON.stringify({ ids: ids }),
    })
      .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
      .then((body) => poll(box.dataset.url + "/" + body.export.id, 1000))
      .catch(() => { say(box.dataset.failed); start.disabled = false; });
  });
})();
