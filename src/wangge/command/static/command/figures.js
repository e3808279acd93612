/* The figures page's charts (ECharts): reported vs closed over the period, open by stage,
 * open and overdue in each area below. The numbers come from the page (json_script
 * "figures-data"), the words from "figures-strings": the script holds no language. */
(function () {
  "use strict";

  var dataNode = document.getElementById("figures-data");
  var textNode = document.getElementById("figures-strings");
  if (!dataNode || !window.echarts) { return; }
  var data = JSON.parse(dataNode.textContent);
  var text = textNode ? JSON.parse(textNode.textContent) : {};
  var RED = "#e03131", BLUE = "#1c5d99", GREEN = "#2f9e44", ORANGE = "#f08c00";
  var charts = [];

  function chart(id, option) {
    var el = document.getElementById(id);
    if (!el) { return; }
    var c = echarts.init(el, null, { renderer: "canvas" });
    c.setOption(option);
    el.dataset.state = "ready";
    charts.push(c);
  }

  var grid = { left: 40, right: 16, top: 36, bottom: 28, containLabel: true };

  chart("chart-trend", {
    color: [BLUE, GREEN],
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    grid: grid,
    xAxis: { type: "category", data: data.trend.points, boundaryGap: false },
    yAxis: { type: "value", minInterval: 1 },
    series: [
      { name: text.reported, type: "line", data: data.trend.reported },
      { name: text.closed, type: "line", data: data.trend.closed }
    ]
  });

  chart("chart-stages", {
    color: [ORANGE],
    tooltip: { trigger: "axis" },
    grid: { left: 8, right: 16, top: 8, bottom: 8, containLabel: true },
    xAxis: { type: "value", minInterval: 1 },
    yAxis: { type: "category", data: data.stages.labels, inverse: true },
    series: [{ name: text.open, type: "bar", data: data.stages.counts, barMaxWidth: 28,
               label: { show: true, position: "right" } }]
  });

  chart("chart-children", {
    color: [BLUE, RED],
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    grid: grid,
    xAxis: { type: "category", data: data.children.labels,
             axisLabel: { interval: 0, rotate: data.children.labels.length > 6 ? 30 : 0 } },
    yAxis: { type: "value", minInterval: 1 },
    series: [
      { name: text.open, type: "bar", data: data.children.open, barMaxWidth: 36 },
      { name: text.overdue, type: "bar", data: data.children.overdue, barMaxWidth: 36 }
    ]
  });

  var childrenChart = charts[charts.length - 1];
  if (childrenChart && document.getElementById("chart-children")) {
    childrenChart.on("click", function (params) {
      var url = (data.children.urls || [])[params.dataIndex];
      if (url) { window.location.href = url; }
    });
  }

  window.addEventListener("resize", function () {
    charts.forEach(function (c) { c.resize(); });
  });
})();
