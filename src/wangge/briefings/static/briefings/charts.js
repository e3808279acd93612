// Briefing charts: one ECharts bar chart per section that declares one, drawn as SVG so
// printing keeps them sharp. The data is the page's JSON (id "briefing-charts").
(function () {
  "use strict";
  var source = document.getElementById("briefing-charts");
  if (!source || typeof echarts === "undefined") { return; }
  var charts = JSON.parse(source.textContent);
  var drawn = [];
  document.querySelectorAll("[data-chart]").forEach(function (el) {
    var spec = charts[el.getAttribute("data-chart")];
    if (!spec) { el.remove(); return; }
    var chart = echarts.init(el, null, { renderer: "svg" });
    chart.setOption({
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 48, right: 16, top: 32, bottom: 64 },
      xAxis: { type: "category", data: spec.categories,
               axisLabel: { interval: 0, rotate: spec.categories.length > 6 ? 30 : 0 } },
      yAxis: { type: "value", minInterval: 1 },
      series: spec.series.map(function (s) {
        return { name: s.name, type: "bar", data: s.data, label: { show: true, position: "top" } };
      })
    });
    drawn.push(chart);
  });
  function resize() { drawn.forEach(function (c) { c.resize(); }); }
  window.addEventListener("resize", resize);
  window.addEventListener("beforeprint", resize);
})();
