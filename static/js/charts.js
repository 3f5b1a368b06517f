// Draws the charts described by <canvas data-chart=... data-series='{"labels": [...],
// "values": [...integer minor units...], "currency": "USD"}'> with the vendored Chart.js.
// Amounts stay integers in the page; only the axis labels are formatted, here, for display.
(function () {
  "use strict";
  if (typeof Chart === "undefined") { return; }
  var locale = document.documentElement.lang || undefined;

  function formatter(currency) {
    var digits = new Intl.NumberFormat(locale, { style: "currency", currency: currency })
      .resolvedOptions().maximumFractionDigits;
    var scale = Math.pow(10, digits);
    var format = new Intl.NumberFormat(locale, { style: "currency", currency: currency });
    return function (minor) { return format.format(minor / scale); };
  }

  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var spec = JSON.parse(canvas.dataset.series);
    var datasets = spec.datasets || [{ label: spec.label || "Earnings", data: spec.values }];
    var money = spec.currency ? formatter(spec.currency) : function (v) { return String(v); };
    new Chart(canvas, {
      type: spec.type || "bar",
      data: { labels: spec.labels, datasets: datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false, // the .chart-box sets the height (200 px or more)
        plugins: { tooltip: { callbacks: { label: function (c) { return money(c.parsed.y); } } } },
        scales: { y: { beginAtZero: true, ticks: { callback: function (v) { return money(v); } } } }
      }
    });
  });
})();
