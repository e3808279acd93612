/* Charts of the evaluation pages (ECharts, served locally): the ranking's bars and a unit's
   dimension radar. Data comes from json_script blocks the templates write. */
(function () {
  "use strict";
  function data(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }
  function mount(id, option) {
    var el = document.getElementById(id);
    if (!el || typeof echarts === "undefined") return;
    var chart = echarts.init(el);
    chart.setOption(option);
    window.addEventListener("resize", function () { chart.resize(); });
  }
  var ranking = data("ranking-data");
  if (ranking) {
    var names = ranking.names.slice().reverse();  // best at the top of a horizontal bar chart
    mount("ranking-chart", {
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { data: [ranking.labels.now, ranking.labels.before] },
      grid: { left: 8, right: 24, top: 32, bottom: 8, containLabel: true },
      xAxis: { type: "value", min: 0, max: 100 },
      yAxis: { type: "category", data: names },
      series: [
        { name: ranking.labels.before, type: "bar", data: ranking.previous.slice().reverse(),
          itemStyle: { color: "#c7d2e0" } },
        { name: ranking.labels.now, type: "bar", data: ranking.scores.slice().reverse(),
          label: { show: true, position: "right", formatter: function (p) {
            return p.value === null ? "" : p.value.toFixed(1); } } }
      ]
    });
  }
  var unit = data("unit-data");
  if (unit && unit.dimensions.length) {
    mount("unit-radar", {
      tooltip: {},
      legend: { data: [unit.labels.now, unit.labels.before], bottom: 0 },
      radar: { indicator: unit.dimensions, radius: "62%" },
      series: [{ type: "radar", data: [
        { name: unit.labels.before, value: unit.before, lineStyle: { type: "dashed" } },
        { name: unit.labels.now, value: unit.now, areaStyle: { opacity: 0.2 } }
      ] }]
    });
  }
})();
