/* Region maps (Leaflet): the children of a node, colour-coded and clickable, or one node's
 * own boundary. Configuration comes from the page (json_script "map-config" and data-*
 * attributes on #map); GeoJSON comes from the region API with the session cookie. */
(function () {
  "use strict";

  var el = document.getElementById("map");
  var configNode = document.getElementById("map-config");
  if (!el || !configNode || !window.L) { return; }
  var cfg = JSON.parse(configNode.textContent) || {};
  var text = cfg.strings || {};
  var statusEl = document.getElementById("map-status");

  // Sequential classes for counts (light to dark), and one colour per grid type.
  var SEQUENTIAL = ["#fee8c8", "#fdbb84", "#fc8d59", "#e34a33", "#b30000"];
  var NO_DATA = "#dee2e6";
  var TYPE_COLOURS = {
    residential: "#4c9be8", commercial: "#f08c00", rural: "#2f9e44", dedicated: "#9c36b5"
  };
  var OTHER_TYPE = "#868e96";

  function say(message) {
    if (statusEl) { statusEl.textContent = message || ""; }
  }

  /* "grids: 3" / "3 户": the phrase comes translated from the page. */
  function count(metric, value) {
    if (typeof value !== "number") { return text.noData; }
    var phrase = metric === "households" ? text.householdsCount : text.gridsCount;
    return (phrase || "%(count)s").replace("%(count)s", String(value));
  }

  function urlFor(template, code) {
    return template.replace("__code__", encodeURIComponent(code));
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(url + " answered " + response.status); }
        return response.json();
      });
  }

  var map = L.map(el, { zoomSnap: 0.25, attributionControl: Boolean(el.dataset.tileUrl) });
  if (el.dataset.tileUrl) {
    // Only an operator-configured (intranet) tile server; nothing external by default.
    L.tileLayer(el.dataset.tileUrl, {
      attribution: el.dataset.tileAttribution || "", maxZoom: 19
    }).addTo(map);
  }

  function outlineStyle() {
    return { color: "#334e68", weight: 2, dashArray: "6 4", fill: false, interactive: false };
  }

  function fit(layer) {
    var bounds = layer.getBounds();
    if (bounds.isValid()) { map.fitBounds(bounds, { padding: [12, 12], maxZoom: 17 }); }
  }

  /* Class breaks for a numeric property: up to five classes over the distinct values. */
  function breaks(values) {
    var distinct = values.filter(function (v, i, all) { return all.indexOf(v) === i; })
      .sort(function (a, b) { return a - b; });
    if (distinct.length <= SEQUENTIAL.length) { return distinct; }
    var out = [];
    for (var k = 1; k <= SEQUENTIAL.length; k++) {
      var v = distinct[Math.ceil((k * distinct.length) / SEQUENTIAL.length) - 1];
      if (out.indexOf(v) < 0) { out.push(v); }
    }
    return out;  // upper bounds of each class, ascending
  }

  function numericScheme(features, metric) {
    var values = features.map(function (f) { return f.properties[metric]; })
      .filter(function (v) { return typeof v === "number"; });
    var uppers = breaks(values);
    // Spread the classes over the palette: one class is mid-tone, not the darkest red.
    var shades = uppers.map(function (_, i) {
      var last = SEQUENTIAL.length - 1;
      return SEQUENTIAL[uppers.length === 1 ? 2 : Math.round((i * last) / (uppers.length - 1))];
    });
    function colour(value) {
      if (typeof value !== "number") { return NO_DATA; }
      for (var i = 0; i < uppers.length; i++) {
        if (value <= uppers[i]) { return shades[i]; }
      }
      return shades[shades.length - 1];
    }
    var lowest = Math.min.apply(null, values);
    var entries = uppers.map(function (upper, i) {
      var lower = i === 0 ? lowest : uppers[i - 1] + 1;
      var label = lower >= upper ? String(upper) : lower + "–" + upper;
      return { colour: shades[i], label: label };
    });
    if (values.length < features.length) { entries.push({ colour: NO_DATA, label: text.noData }); }
    return {
      title: metric === "households" ? text.legendHouseholds : text.legendGrids,
      colour: function (props) { return colour(props[metric]); },
      value: function (props) { return count(metric, props[metric]); },
      entries: entries
    };
  }

  function typeScheme(features) {
    var seen = [];
    features.forEach(function (f) {
      var t = f.properties.grid_type || "";
      if (seen.indexOf(t) < 0) { seen.push(t); }
    });
    return {
      title: text.legendType,
      colour: function (props) { return TYPE_COLOURS[props.grid_type] || OTHER_TYPE; },
      value: function (props) {
        var parts = [props.grid_type_name || text.unknownType];
        if (props.households !== null) { parts.push(count("households", props.households)); }
        return parts.join(" · ");
      },
      entries: seen.map(function (t) {
        return {
          colour: TYPE_COLOURS[t] || OTHER_TYPE,
          label: t ? ((cfg.gridTypes || {})[t] || t) : text.unknownType
        };
      })
    };
  }

  var legend = wangge.legendControl();

  function drawChildren(collection) {
    var features = (collection && collection.features) || [];
    var list = document.getElementById("map-features");
    var metricBox = document.querySelector(".map-side .metric");
    var metricSelect = document.getElementById("map-metric");
    if (!features.length) {
      el.dataset.drawnCodes = "";
      el.dataset.state = "empty";
      say(text.empty);
      return null;
    }
    var allGrids = features.every(function (f) { return f.properties.level === 6; });
    var scheme;
    var layers = [];
    var group = L.featureGroup().addTo(map);
    var labelled = features.length <= 40;

    features.forEach(function (f) {
      var props = f.properties;
      var layer = L.geoJSON(f, {
        // The code as a class lets a test (or a stylesheet) find one area's shape.
        style: { color: "#334e68", weight: 1.5, fillOpacity: 0.75, className: "area area-" + props.code }
      });
      layer.bindTooltip(props.name, {
        permanent: labelled, direction: "center", className: "map-label", sticky: !labelled
      });
      layer.on("click", function () {
        window.location.href = urlFor(props.level === 6 ? cfg.detailUrl : cfg.mapUrl, props.code);
      });
      layer.on("mouseover", function () { layer.setStyle({ weight: 3 }); });
      layer.on("mouseout", function () { layer.setStyle({ weight: 1.5 }); });
      layer.addTo(group);
      layers.push({ props: props, layer: layer });
    });

    function paint() {
      scheme = allGrids ? typeScheme(features)
        : numericScheme(features, metricSelect ? metricSelect.value : "grids");
      layers.forEach(function (item) {
        item.layer.setStyle({ fillColor: scheme.colour(item.props) });
        if (item.valueEl) { item.valueEl.textContent = scheme.value(item.props); }
        if (item.swatchEl) { item.swatchEl.style.background = scheme.colour(item.props); }
      });
      legend.show(scheme.title, scheme.entries);
    }

    if (list) {
      list.textContent = "";
      layers.forEach(function (item) {
        var props = item.props;
        var li = document.createElement("li");
        li.dataset.code = props.code;
        var swatch = document.createElement("i");
        swatch.className = "swatch";
        var link = document.createElement("a");
        link.href = urlFor(props.level === 6 ? cfg.detailUrl : cfg.mapUrl, props.code);
        link.textContent = props.name;
        var value = document.createElement("span");
        value.className = "muted";
        li.appendChild(swatch);
        li.appendChild(link);
        li.appendChild(document.createTextNode(" "));
        li.appendChild(value);
        li.addEventListener("mouseenter", function () { item.layer.setStyle({ weight: 3 }); });
        li.addEventListener("mouseleave", function () { item.layer.setStyle({ weight: 1.5 }); });
        item.valueEl = value;
        item.swatchEl = swatch;
        list.appendChild(li);
      });
    }

    legend.addTo(map);
    if (!allGrids && metricBox && metricSelect) {
      metricBox.hidden = false;
      metricSelect.addEventListener("change", paint);
    }
    paint();
    el.dataset.drawnCodes = features.map(function (f) { return f.properties.code; }).join(" ");
    el.dataset.state = "ready";
    say((text.drawn || "").replace("%(count)s", String(features.length)));
    return group;
  }

  function drawOutline(feature) {
    if (!feature || !feature.geometry) { return null; }
    return L.geoJSON(feature, { style: outlineStyle }).addTo(map);
  }

  var outline = cfg.outlineUrl ? getJSON(cfg.outlineUrl) : Promise.resolve(null);

  if (cfg.mode === "single") {
    outline.then(function (feature) {
      var layer = L.geoJSON(feature, {
        style: { color: "#c0392b", weight: 2, fillColor: "#c0392b", fillOpacity: 0.2 }
      }).addTo(map);
      fit(layer);
      el.dataset.drawnCodes = feature.properties.code;
      el.dataset.state = "ready";
    }).catch(function () {
      el.dataset.state = "error";
      say(text.loadFailed);
    });
    return;
  }

  Promise.all([getJSON(cfg.childrenUrl), outline]).then(function (results) {
    var group = drawChildren(results[0]);
    var frame = drawOutline(results[1]);
    if (group || frame) { fit(group || frame); } else { map.setView([35, 105], 4); }
  }).catch(function () {
    el.dataset.state = "error";
    say(text.loadFailed);
  });
})();
