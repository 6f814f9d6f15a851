/* The residents' needs map (/needs/figures): a choropleth of the streets drawn by ECharts from the
 * boundaries GeoJSON, coloured by open needs or services per 1,000 residents. The table beside the map
 * carries the same numbers; without JavaScript the table is all there is. */
(function () {
  "use strict";
  var box = document.getElementById("needs-map");
  if (!box || typeof echarts === "undefined" || !window.fetch) {
    return;
  }
  var values = JSON.parse(box.getAttribute("data-values") || "[]");
  var nameField = box.getAttribute("data-name-field") || "name";
  var labels = {
    open: box.getAttribute("data-label-open"),
    per_thousand: box.getAttribute("data-label-per-thousand")
  };
  var chart = null;
  var names = {};

  function series(metric) {
    var data = [];
    var max = 0;
    values.forEach(function (v) {
      var value = v[metric];
      if (value === null || value === undefined || !(v.code in names)) {
        return;
      }
      max = Math.max(max, value);
      data.push({ name: names[v.code], value: value });
    });
    return { data: data, max: max || 1 };
  }

  function draw(metric) {
    var s = series(metric);
    chart.setOption({
      tooltip: { trigger: "item" },
      visualMap: {
        min: 0,
        max: s.max,
        left: "left",
        bottom: 0,
        text: [String(s.max), "0"],
        calculable: true,
        inRange: { color: ["#eef5ff", "#08519c"] }
      },
      series: [{
        name: labels[metric],
        type: "map",
        map: "streets",
        roam: false,
        nameProperty: nameField,
        label: { show: true, fontSize: 10 },
        data: s.data
      }]
    }, true);
  }

  fetch(box.getAttribute("data-geojson"), { credentials: "same-origin" })
    .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
    .then(function (geojson) {
      geojson.features.forEach(function (f) {
        names[f.properties.code] = f.properties[nameField] || f.properties.name;
      });
      echarts.registerMap("streets", geojson);
      chart = echarts.init(box, null, { renderer: "svg" });
      draw("open");
      window.addEventListener("resize", function () { chart.resize(); });
      document.querySelectorAll("[data-needs-map-metric]").forEach(function (button) {
        button.addEventListener("click", function () {
          document.querySelectorAll("[data-needs-map-metric]").forEach(function (b) {
            b.classList.toggle("active", b === button);
            b.setAttribute("aria-pressed", b === button ? "true" : "false");
          });
          draw(button.getAttribute("data-needs-map-metric"));
        });
      });
    })
    .catch(function () {
      box.classList.add("d-none");
    });
})();
