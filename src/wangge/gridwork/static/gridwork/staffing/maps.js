/* Staffing maps (Leaflet, served locally): grids coloured by load on the staffing page, and
 * each proposal with the current grids dashed and the proposed ones filled. Data comes from
 * json_script blocks; only an operator-configured (intranet) tile server is ever used. */
(function () {
  "use strict";
  if (!window.L) { return; }
  var COLOURS = { overloaded: "#e03131", ok: "#94d82d", light: "#4dabf7", no_worker: "#fab005" };

  function data(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }
  function base(el) {
    var map = L.map(el, { zoomSnap: 0.25, attributionControl: Boolean(el.dataset.tileUrl) });
    if (el.dataset.tileUrl) {
      L.tileLayer(el.dataset.tileUrl, { attribution: el.dataset.tileAttribution || "", maxZoom: 19 })
        .addTo(map);
    }
    return map;
  }
  function fit(map, layer) {
    var bounds = layer.getBounds();
    if (bounds.isValid()) { map.fitBounds(bounds, { padding: [10, 10], maxZoom: 17 }); }
  }
  function text(s) { var d = document.createElement("div"); d.textContent = s; return d.innerHTML; }

  var staffing = data("staffing-map-data");
  var el = document.getElementById("staffing-map");
  if (staffing && el) {
    var s = staffing.strings;
    var map = base(el);
    var layer = L.geoJSON(staffing.grids, {
      style: function (f) {
        return { color: "#334e68", weight: 1, fillColor: COLOURS[f.properties.status] || "#ccc",
                 fillOpacity: 0.55 };
      },
      onEachFeature: function (f, l) {
        var p = f.properties;
        l.bindPopup("<strong>" + text(p.name) + "</strong><br>" + text(s[p.status] || p.status) +
          "<br>" + s.households + ": " + p.households + "<br>" + s.workers + ": " + p.workers +
          "<br>" + s.needed + ": " + p.needed + "<br>" + s.load + ": " +
          (p.load === null ? "—" : p.load));
      }
    }).addTo(map);
    fit(map, layer);
    el.dataset.state = "ready";
    el.dataset.drawn = String(staffing.grids.features.length);
  }

  var proposals = data("proposal-map-data");
  if (proposals) {
    proposals.proposals.forEach(function (p) {
      var box = document.getElementById("proposal-map-" + p.id);
      if (!box) { return; }
      var map = base(box);
      var group = L.featureGroup().addTo(map);
      L.geoJSON(p.proposed, {
        style: function () {
          return { color: p.kind === "split" ? "#c92a2a" : "#1971c2", weight: 2, fillOpacity: 0.35 };
        },
        onEachFeature: function (f, l) {
          l.bindTooltip(proposals.strings.households + ": " + f.properties.households,
                        { permanent: true, direction: "center" });
        }
      }).addTo(group);
      p.current.forEach(function (g) {
        L.geoJSON(g, { style: { color: "#212529", weight: 2, dashArray: "6 4", fill: false } })
          .addTo(group);
      });
      fit(map, group);
      box.dataset.state = "ready";
    });
  }
})();
