// The reports page: draws the report's chart with Chart.js (vendor/chart.umd.js, from npm)
// from the JSON block the page rendered (no inline script: CSP), and starts a background
// export (POST /api/v1/reports/exports) whose progress export_progress.js shows.
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
    start.addEventListener("click", () => window.CentralaExport.run({
      box: box, button: start,
      bar: document.getElementById("report-export-bar"),
      status: document.getElementById("report-export-status"),
      body: { report: box.dataset.report, format: format.value,
              query: JSON.parse(box.dataset.query) },
    }));
  }

  document.addEventListener("DOMContentLoaded", () => { drawChart(); exporter(); });
})();
