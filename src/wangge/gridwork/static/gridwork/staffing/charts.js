/* The workload chart (ECharts, served locally): each grid's workload hours against the
 * field hours of its workers. Data comes from the page's json_script "workload-data". */
(function () {
  "use strict";
  var node = document.getElementById("workload-data");
  var el = document.getElementById("workload-chart");
  if (!node || !el || typeof echarts === "undefined") { return; }
  var d = JSON.parse(node.textContent);
  var chart = echarts.init(el);
  chart.setOption({
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
    legend: { data: [d.labels.hours, d.labels.capacity] },
    grid: { left: 8, right: 16, top: 32, bottom: 8, containLabel: true },
    xAxis: { type: "category", data: d.names, axisLabel: { rotate: d.names.length > 6 ? 40 : 0 } },
    yAxis: { type: "value" },
    series: [
      { name: d.labels.capacity, type: "bar", data: d.capacity, itemStyle: { color: "#c7d2e0" } },
      { name: d.labels.hours, type: "bar", data: d.hours, itemStyle: { color: "#1c7ed6" } }
    ]
  });
  window.addEventListener("resize", function () { chart.resize(); });
})();
