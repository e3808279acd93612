/* The case page's map: the case's point, inside its grid's outline when the viewer may see
 * the grid. No tiles unless the operator configured an (intranet) tile server. */
(function () {
  "use strict";

  var el = document.getElementById("case-map");
  var configNode = document.getElementById("case-map-config");
  if (!el || !configNode || !window.L) { return; }
  var cfg = JSON.parse(configNode.textContent);
  if (!cfg || !cfg.point) { return; }
  var point = [cfg.point[1], cfg.point[0]];
  var map = L.map(el, { attributionControl: Boolean(el.dataset.tileUrl) });
  if (el.dataset.tileUrl) {
    L.tileLayer(el.dataset.tileUrl, { attribution: el.dataset.tileAttribution || "", maxZoom: 19 }).addTo(map);
  }
  if (cfg.bounds) { map.fitBounds(cfg.bounds, { padding: [8, 8] }); } else { map.setView(point, 16); }
  L.circleMarker(point, { radius: 8, color: "#c0392b", weight: 3, fillOpacity: 0.6 }).addTo(map);
  function ready() { el.dataset.state = "ready"; }
  if (!cfg.outlineUrl) { ready(); return; }
  fetch(cfg.outlineUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (feature) {
      if (feature && feature.geometry) {
        L.geoJSON(feature, { style: { color: "#334e68", weight: 2, dashArray: "6 4", fillOpacity: 0.05 }, interactive: false }).addTo(map);
      }
      ready();
    })
    .catch(ready);
})();
