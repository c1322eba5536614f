// One background export with a progress bar, shared by the recordings ZIP (recordings_zip.js)
// and the reports' export (reports.js): POST the body to the box's data-url (an RQ job is
// queued), then poll <data-url>/<id> every second and move the bar until the file is ready
// (then offer the link) or failed. While the API fails (network, a restart) it waits longer
// each time, up to ten seconds. The box carries the CSRF token and the words as data
// attributes (no inline script: CSP): data-building, data-ready, data-download,
// data-failed, and optionally data-parts ("{done} of {total} parts").
"use strict";
window.CentralaExport = (function () {
  function run(opts) {
    const box = opts.box, bar = opts.bar, status = opts.status, button = opts.button;

    function say(text, href) {
      status.textContent = text;
      if (href) {
        const a = document.createElement("a");
        a.href = href;
        a.textContent = box.dataset.download;
        status.append(" ", a);
      }
    }

    function progress(e) {
      if (box.dataset.parts) {
        return box.dataset.parts.replace("{done}", e.done).replace("{total}", e.total || "?");
      }
      return e.done + " / " + e.total;
    }

    function poll(url, delay) {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
        .then((body) => {
          const e = body.export;
          bar.max = Math.max(1, e.total);
          bar.value = e.done;
          if (e.state === "done") { say(box.dataset.ready, e.download_url); button.disabled = false; return; }
          if (e.state === "failed") { say(box.dataset.failed); button.disabled = false; return; }
          say(box.dataset.building + " " + progress(e));
          setTimeout(() => poll(url, 1000), 1000);
        })
        .catch(() => setTimeout(() => poll(url, Math.min(delay * 2, 10000)), delay));
    }

    button.disabled = true;
    bar.hidden = false;
    bar.value = 0;
    say(box.dataset.building);
    fetch(box.dataset.url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json",
                 "X-CSRF-Token": box.dataset.csrf },
      body: JSON.stringify(opts.body),
    })
      .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
      .then((body) => poll(box.dataset.url + "/" + body.export.id, 1000))
      .catch(() => { say(box.dataset.failed); button.disabled = false; });
    return say;
  }

  return { run: run };
})();
