// The reports page: draws the report's chart with Chart.js (vendor/chart.umd.js, from npm)
// from the JSON block the page rendered (no inline script: CSP), and runs a background
// export: POST /api/v1/reports/exports, then polls GET /api/v1/reports/exports/<id> every
// second, moving the progress bar until the file is ready (then offers the link) or failed.
// While the API fails (network, a restart) it waits longer each time, up to ten seconds.
"use strict";
(function () {
  const COLOURS = ["#2f6fde", "#d9822b", "#3aa76d", "#c23b3b", "#8a5cd6", "#1f9bb4",
                   "#b8a127", "#6b7480", "#e06fa8", "#4b5563"];

  function drawChart() {
    const data = document.getElementById("report-chart-data");
    const canvas = document.getElementById("report-chart");
    if (!data || !canvas || typeof Chart === "undefined") return;
    const spec = JSON.parse(data.textContent);
    const pct = spec.series.some((s) => s.axis === "pct");
    const datasets = spec.series.map((s, i) => ({
      type: s.line ? "line" : "bar",
      label: s.label,
      data: s.data,
      backgroundColor: COLOURS[i % COLOURS.length],
      borderColor: COLOURS[i % COLOURS.length],
      yAxisID: s.axis === "pct" ? "pct" : "y",
      stack: s.line || !spec.stacked ? undefined : "all",
      spanGaps: true,
    }));
    const scales = {
      x: { stacked: spec.stacked },
      y: { stacked: spec.stacked, beginAtZero: true,
           title: { display: !!spec.unit, text: spec.unit } },
    };
    if (pct) scales.pct = { position: "right", min: 0, max: 100, grid: { drawOnChartArea: false } };
    new Chart(canvas, {
      type: "bar",
      data: { labels: spec.labels, datasets: datasets },
      options: { responsive: true, maintainAspectRatio: false, animation: false, scales: scales,
                 plugins: { legend: { position: "bottom" } } },
    });
  }

  function exporter() {
    const box = document.getElementById("report-export");
    if (!box) return;
    const start = document.getElementById("report-export-start");
    const format = document.getElementById("report-export-format");
    const bar = document.getElementById("report-export-bar");
    const status = document.getElementById("report-export-status");

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
          say(box.dataset.building + " " + box.dataset.parts.replace("{done}", e.done)
              .replace("{total}", e.total || "?"));
          setTimeout(() => poll(url, 1000), 1000);
        })
        .catch(() => setTimeout(() => poll(url, Math.min(delay * 2, 10000)), delay));
    }

    start.addEventListener("click", () => {
      start.disabled = true;
      bar.hidden = false;
      bar.value = 0;
      say(box.dataset.building);
      fetch(box.dataset.url, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json",
                   "X-CSRF-Token": box.dataset.csrf },
        body: JSON.stringify({ report: box.dataset.report, format: format.value,
                               query: JSON.parse(box.dataset.query) }),
      })
        .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
        .then((body) => poll(box.dataset.url + "/" + body.export.id, 1000))
        .catch(() => { say(box.dataset.failed); start.disabled = false; });
    });
  }

  document.addEventListener("DOMContentLoaded", () => { drawChart(); exporter(); });
})();
