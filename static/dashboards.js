/* Draws the dashboard charts. No inline script: each <canvas data-chart-source="ID"> names a
 * <script type="application/json" id="ID"> block holding {type, labels, datasets, money}.
 * Every chart repeats a table on the page, so without Chart.js (or JavaScript) nothing is lost. */
(function () {
  "use strict";
  if (typeof window.Chart === "undefined") {
    return;
  }
  var lang = document.documentElement.lang || "zh-CN";
  var moneyFormat = new Intl.NumberFormat(lang, { style: "currency", currency: "CNY" });

  function read(id) {
    var node = document.getElementById(id);
    if (!node) {
      return null;
    }
    try {
      return JSON.parse(node.textContent);
    } catch (e) {
      return null;
    }
  }

  function draw(canvas) {
    var spec = read(canvas.getAttribute("data-chart-source"));
    if (!spec || !spec.labels || spec.labels.length === 0) {
      return;
    }
    var round = spec.type === "doughnut" || spec.type === "pie";
    var datasets = spec.datasets.map(function (d) {
      var colour = d.colors || d.color;
      return {
        label: d.label,
        data: d.data.map(Number),
        backgroundColor: colour,
        borderColor: round ? "#fff" : colour,
        borderWidth: 1
      };
    });
    var format = function (value) {
      return spec.money ? moneyFormat.format(value) : String(value);
    };
    var options = {
      responsive: true,
      aspectRatio: 2,
      animation: false,
      plugins: {
        legend: { position: round ? "right" : "top" },
        tooltip: {
          callbacks: {
            label: function (ctx) {
              var value = round ? ctx.parsed : ctx.parsed.y;
              return (ctx.dataset.label ? ctx.dataset.label + ": " : "") + format(value);
            }
          }
        }
      }
    };
    if (!round) {
      options.scales = { y: { beginAtZero: true, ticks: { callback: format } } };
    }
    new window.Chart(canvas, { type: spec.type, data: { labels: spec.labels, datasets: datasets }, options: options });
  }

  function start() {
    var canvases = document.querySelectorAll("canvas[data-chart-source]");
    for (var i = 0; i < canvases.length; i++) {
      draw(canvases[i]);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
