/* A task's progress map (Leaflet): the node's children, coloured by the share of targets
 * finished, each clickable to drill down. Boundaries come from the region API with the
 * session cookie; the numbers come from the page (json_script "progress-map-config"), the
 * same ones the table shows. */
(function () {
  "use strict";

  var el = document.getElementById("progress-map");
  var configNode = document.getElementById("progress-map-config");
  if (!el || !configNode || !window.L) { return; }
  var cfg = JSON.parse(configNode.textContent) || {};
  var text = cfg.strings || {};
  var rows = cfg.rows || {};
  var statusEl = document.getElementById("progress-map-status");

  // Five classes of percent finished, red (little done) to green (all done).
  var CLASSES = [
    { upTo: 20, colour: "#d73027", label: "0–20%" },
    { upTo: 40, colour: "#fc8d59", label: "20–40%" },
    { upTo: 60, colour: "#fee08b", label: "40–60%" },
    { upTo: 80, colour: "#91cf60", label: "60–80%" },
    { upTo: 100, colour: "#1a9850", label: "80–100%" }
  ];
  var NO_TARGETS = "#dee2e6";

  function colour(row) {
    if (!row || !row.total) { return NO_TARGETS; }
    for (var i = 0; i < CLASSES.length; i++) {
      if (row.percent < CLASSES[i].upTo || i === CLASSES.length - 1) { return CLASSES[i].colour; }
    }
    return NO_TARGETS;
  }

  var map = L.map(el, { zoomSnap: 0.25, attributionControl: Boolean(el.dataset.tileUrl) });
  if (el.dataset.tileUrl) {
    // Only an operator-configured (intranet) tile server; nothing external by default.
    L.tileLayer(el.dataset.tileUrl, {
      attribution: el.dataset.tileAttribution || "", maxZoom: 19
    }).addTo(map);
  }

  var legend = L.control({ position: "bottomright" });
  legend.onAdd = function () {
    var div = L.DomUtil.create("div", "legend");
    var strong = document.createElement("strong");
    strong.textContent = text.legend || "%";
    div.appendChild(strong);
    CLASSES.concat([{ colour: NO_TARGETS, label: text.noTargets }]).forEach(function (c) {
      var row = document.createElement("div");
      var swatch = document.createElement("i");
      swatch.style.background = c.colour;
      row.appendChild(swatch);
      row.appendChild(document.createTextNode(c.label));
      div.appendChild(row);
    });
    return div;
  };
  legend.addTo(map);

  fetch(cfg.childrenUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (response) {
      if (!response.ok) { throw new Error("regions answered " + response.status); }
      return response.json();
    })
    .then(function (collection) {
      var layer = L.geoJSON(collection, {
        style: function (feature) {
          return { color: "#334e68", weight: 1, fillOpacity: 0.7,
                   fillColor: colour(rows[feature.properties.code]) };
        },
        onEachFeature: function (feature, shape) {
          var row = rows[feature.properties.code];
          var label = feature.properties.name + " · " + (row && row.total
            ? row.percent + "% (" + row.finished + "/" + row.total + ")" : text.noTargets);
          shape.bindTooltip(label, { sticky: true });
          if (row) {
            shape.on("click", function () { window.location.assign(row.url); });
          }
        }
      }).addTo(map);
      var bounds = layer.getBounds();
      if (bounds.isValid()) { map.fitBounds(bounds, { padding: [12, 12], maxZoom: 17 }); }
      el.dataset.state = "ready";
      el.dataset.drawn = String(collection.features.length);
    })
    .catch(function () {
      el.dataset.state = "failed";
      if (statusEl) { statusEl.textContent = text.failed || ""; }
    });
}());
