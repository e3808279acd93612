// The public page's chart: matters received and closed this year, by month.
(function () {
  "use strict";
  var source = document.getElementById("public-chart-data");
  var el = document.getElementById("public-chart");
  if (!source || !el || typeof echarts === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var chart = echarts.init(el, null, { renderer: "svg" });
  chart.setOption({
    animation: false,
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    grid: { left: 48, right: 16, top: 32, bottom: 32 },
    xAxis: { type: "category", data: data.months },
    yAxis: { type: "value", minInterval: 1 },
    series: [
      { name: data.labels.received, type: "bar", data: data.received },
      { name: data.labels.closed, type: "bar", data: data.closed }
    ]
  });
  window.addEventListener("resize", function () { chart.resize(); });
})();
