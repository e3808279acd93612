/* A map legend — 图例: one Leaflet control both maps use (the region tree's map and the
 * command centre's one map). legendControl().show(title, [{colour, label}, …]) redraws it. */
(function () {
  "use strict";
  window.wangge = window.wangge || {};
  window.wangge.legendControl = function () {
    var legend = L.control({ position: "bottomright" });
    legend.onAdd = function () {
      this._div = L.DomUtil.create("div", "legend");
      return this._div;
    };
    legend.show = function (title, entries) {
      var div = this._div;
      div.textContent = "";
      var strong = document.createElement("strong");
      strong.textContent = title;
      div.appendChild(strong);
      entries.forEach(function (entry) {
        var row = document.createElement("div");
        var swatch = document.createElement("i");
        swatch.style.background = entry.colour;
        row.appendChild(swatch);
        row.appendChild(document.createTextNode(entry.label));
        div.appendChild(row);
      });
    };
    return legend;
  };
})();
