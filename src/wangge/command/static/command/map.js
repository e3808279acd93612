/* The one map (一张图, Leaflet): the node's children coloured by a measure (colours and
 * legend come from the server), case points, a heat layer of case density and key places.
 * Clicking an area opens its own map (street → community → grid); a case point's popup
 * links to the case. Layers come from /api/v1/command/map/* with the session cookie;
 * configuration and words from the page (json_script "map-config"). */
(function () {
  "use strict";

  var el = document.getElementById("map");
  var configNode = document.getElementById("map-config");
  if (!el || !configNode || !window.L) { return; }
  var cfg = JSON.parse(configNode.textContent) || {};
  var text = cfg.strings || {};
  var statusEl = document.getElementById("map-status");
  var noteEl = document.getElementById("points-note");
  var listEl = document.getElementById("map-features");
  var LIGHTS = { red: "#e03131", yellow: "#fcc419", green: "#2f9e44", "": "#868e96" };

  function say(target, message) { if (target) { target.textContent = message || ""; } }

  function fill(template, values) {
    return String(template || "").replace(/%\((\w+)\)s/g, function (_, key) {
      return values[key] === undefined ? "" : String(values[key]);
    });
  }

  function apiUrl(base, extra) {
    var params = new URLSearchParams();
    var all = Object.assign({}, cfg.api, extra || {});
    Object.keys(all).forEach(function (k) { if (all[k]) { params.set(k, all[k]); } });
    return base + "?" + params.toString();
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(url + " answered " + response.status); }
        return response.json();
      });
  }

  function mapUrlFor(code) {
    return cfg.mapUrl.replace("__code__", encodeURIComponent(code)) +
      (cfg.query ? "?" + cfg.query : "");
  }

  var map = L.map(el, { zoomSnap: 0.25, attributionControl: Boolean(el.dataset.tileUrl) });
  if (el.dataset.tileUrl) {
    // Only an operator-configured (intranet) tile server; nothing external by default.
    L.tileLayer(el.dataset.tileUrl, {
      attribution: el.dataset.tileAttribution || "", maxZoom: 19
    }).addTo(map);
  }
  // Points and places above the areas, so a tap on a point is never taken by its area.
  map.createPane("places").style.zIndex = 620;
  map.createPane("cases").style.zIndex = 640;

  var legend = wangge.legendControl();

  function tooltipFor(props) {
    return props.name + (props.display ? " · " + props.display : "");
  }

  function drawAreas(collection) {
    var features = collection.features || [];
    var group = L.featureGroup();
    var labelled = features.length <= 40;
    features.forEach(function (f) {
      var props = f.properties;
      var layer = L.geoJSON(f, {
        style: { color: "#334e68", weight: 1.5, fillOpacity: 0.7, fillColor: props.colour,
                 className: "area area-" + props.code }
      });
      layer.bindTooltip(tooltipFor(props), {
        permanent: labelled, direction: "center", className: "map-label", sticky: !labelled
      });
      layer.on("click", function () { window.location.href = mapUrlFor(props.code); });
      layer.on("mouseover", function () { layer.setStyle({ weight: 3 }); });
      layer.on("mouseout", function () { layer.setStyle({ weight: 1.5 }); });
      layer.addTo(group);
      if (listEl) { listEl.appendChild(listItem(props, layer)); }
    });
    var node = collection.node;
    var outline = null;
    if (node && node.geometry) {
      var single = !features.length;  // a grid: its own boundary, coloured by its value
      outline = L.geoJSON(node, {
        interactive: false,
        style: single
          ? { color: "#c0392b", weight: 2.5, fillColor: node.properties.colour || "#c0392b",
              fillOpacity: 0.35, className: "area area-" + node.properties.code }
          : { color: "#334e68", weight: 2, dashArray: "6 4", fill: false }
      });
      outline.addTo(group);
    }
    el.dataset.drawnCodes = features.map(function (f) { return f.properties.code; }).join(" ");
    if (features.length) {
      say(statusEl, fill(text.drawn, { count: features.length }));
    } else if (outline) {
      el.dataset.drawnCodes = node.properties.code;
      say(statusEl, fill(text.single, { name: node.properties.name }));
    } else {
      say(statusEl, text.empty);
    }
    legend.show(collection.measure.label, collection.legend || []);
    return group;
  }

  function listItem(props, layer) {
    var li = document.createElement("li");
    li.dataset.code = props.code;
    var swatch = document.createElement("i");
    swatch.className = "swatch";
    swatch.style.background = props.colour;
    var link = document.createElement("a");
    link.href = mapUrlFor(props.code);
    link.textContent = props.name;
    var value = document.createElement("span");
    value.className = "muted value";
    value.textContent = props.display;
    li.appendChild(swatch);
    li.appendChild(link);
    li.appendChild(document.createTextNode(" "));
    li.appendChild(value);
    li.addEventListener("mouseenter", function () { layer.setStyle({ weight: 3 }); });
    li.addEventListener("mouseleave", function () { layer.setStyle({ weight: 1.5 }); });
    return li;
  }

  function popupFor(props) {
    var box = document.createElement("div");
    box.className = "case-popup";
    var link = document.createElement("a");
    link.href = props.url;
    link.className = "code case-link";
    link.textContent = props.code;
    box.appendChild(link);
    [[text.category, props.category], [text.state, props.state_label]].forEach(function (row) {
      var line = document.createElement("div");
      line.textContent = row[0] + ": " + row[1];
      box.appendChild(line);
    });
    var light = document.createElement("div");
    light.className = "light light-" + (props.light || "none");
    var dot = document.createElement("i");
    light.appendChild(dot);
    light.appendChild(document.createTextNode(props.light_label));
    box.appendChild(light);
    var open = document.createElement("a");
    open.href = props.url;
    open.className = "button open-case";
    open.textContent = text.openCase;
    box.appendChild(open);
    return box;
  }

  function drawCases(collection) {
    var group = L.featureGroup();
    (collection.features || []).forEach(function (f) {
      var props = f.properties;
      var c = f.geometry.coordinates;
      L.circleMarker([c[1], c[0]], {
        pane: "cases", radius: 7, weight: 2, color: "#fff", fillOpacity: 0.95,
        fillColor: LIGHTS[props.light] || LIGHTS[""],
        className: "case-point case-" + props.code
      }).bindPopup(function () { return popupFor(props); }).addTo(group);
    });
    el.dataset.caseCodes = (collection.features || []).map(function (f) {
      return f.properties.code;
    }).join(" ");
    if (collection.shown < collection.total) {
      say(noteEl, fill(text.points, { shown: collection.shown, total: collection.total }));
    } else {
      say(noteEl, fill(text.allPoints, { total: collection.total }));
    }
    return group;
  }

  function drawHeat(data) {
    if (!L.heatLayer || !data.cells.length) { return null; }
    return L.heatLayer(data.cells, {
      radius: 22, blur: 18, max: Math.max(1, data.max), minOpacity: 0.25,
      maxZoom: map.getZoom()
    });
  }

  function drawPlaces(collection) {
    var group = L.featureGroup();
    (collection.features || []).forEach(function (f) {
      var props = f.properties;
      var c = f.geometry.coordinates;
      L.marker([c[1], c[0]], {
        pane: "places", keyboard: false,
        icon: L.divIcon({ className: "place place-" + props.kind, iconSize: [14, 14] })
      }).bindTooltip(props.name + " · " + props.kind_label).addTo(group);
    });
    return group;
  }

  function fit(layer) {
    var bounds = layer && layer.getBounds ? layer.getBounds() : null;
    if (bounds && bounds.isValid()) {
      map.fitBounds(bounds, { padding: [12, 12], maxZoom: 17 });
      return true;
    }
    return false;
  }

  Promise.all([
    getJSON(apiUrl(cfg.areasUrl, { measure: cfg.measure })),
    getJSON(apiUrl(cfg.casesUrl)),
    getJSON(apiUrl(cfg.heatUrl)),
    getJSON(apiUrl(cfg.placesUrl, { start: "", end: "", category: "" }))
  ]).then(function (results) {
    legend.addTo(map);
    var areas = drawAreas(results[0]).addTo(map);
    var cases = drawCases(results[1]);
    var places = drawPlaces(results[3]);
    if (!fit(areas) && !fit(cases)) { map.setView([36.65, 117.0], 10); }
    cases.addTo(map);
    places.addTo(map);
    var overlays = {};
    overlays[text.layerAreas] = areas;
    overlays[text.layerCases] = cases;
    var heat = drawHeat(results[2]);
    if (heat) { overlays[text.layerHeat] = heat; }
    overlays[text.layerPlaces] = places;
    L.control.layers(null, overlays, { collapsed: window.innerWidth < 600 }).addTo(map);
    el.dataset.state = "ready";
  }).catch(function (error) {
    if (window.console) { console.error(error); }
    el.dataset.state = "error";
    say(statusEl, text.loadFailed);
  });
})();
