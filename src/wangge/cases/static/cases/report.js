/* The report form (上报): two-level category picker, photos uploaded as soon as they are
 * taken (so the EXIF position can be offered and a double submit sends the same photo ids),
 * the point from the phone's GPS or a pin on the map (both WGS-84), and one submit only.
 * Without JavaScript the form still works: one category list, photos sent with the form. */
(function () {
  "use strict";

  var form = document.getElementById("report-form");
  if (!form) { return; }
  function json(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }
  var text = json("report-strings") || {};
  var el = function (name) { return form.querySelector("[name=" + name + "]"); };
  var lon = el("lon"), lat = el("lat"), photos = el("photos");
  var whereStatus = document.getElementById("where-status");
  var photoStatus = document.getElementById("photo-status");

  function fmt(template, values) {
    return String(template || "").replace(/%\((\w+)\)s/g, function (_, key) {
      return values[key] === undefined ? "" : String(values[key]);
    });
  }

  /* -- category: main class, then the class within it -------------------------------- */
  var tree = json("category-tree") || [];
  var parentSelect = document.getElementById("category-parent");
  var childSelect = el("category");
  function fill(parentCode, keep) {
    var parent = tree.filter(function (p) { return p.code === parentCode; })[0];
    childSelect.innerHTML = "";
    var first = document.createElement("option");
    first.value = "";
    first.textContent = text.chooseSub || "—";
    childSelect.appendChild(first);
    if (!parent) { childSelect.disabled = true; return; }
    childSelect.disabled = false;
    var items = parent.children.length ? parent.children : [{ code: parent.code, name: parent.name }];
    items.forEach(function (c) {
      var option = document.createElement("option");
      option.value = c.code;
      option.textContent = c.name;
      if (c.code === keep || items.length === 1) { option.selected = true; }
      childSelect.appendChild(option);
    });
  }
  if (parentSelect && childSelect && tree.length) {
    var chosen = childSelect.value;
    var top = document.createElement("option");
    top.value = "";
    top.textContent = text.chooseMain || "—";
    parentSelect.appendChild(top);
    var current = "";
    tree.forEach(function (p) {
      var option = document.createElement("option");
      option.value = p.code;
      option.textContent = p.name;
      parentSelect.appendChild(option);
      if (p.code === chosen || p.children.some(function (c) { return c.code === chosen; })) {
        current = p.code;
      }
    });
    parentSelect.value = current;
    parentSelect.hidden = false;
    fill(current, chosen);
    parentSelect.addEventListener("change", function () { fill(parentSelect.value, ""); });
  }

  /* -- where: GPS, the photo's position, or a pin --------------------------------------- */
  var marker = null, map = null;
  function setPoint(lo, la, how) {
    lon.value = lo.toFixed(7);
    lat.value = la.toFixed(7);
    if (whereStatus) {
      whereStatus.textContent = fmt(text.pointSet, { how: how, lat: la.toFixed(6), lon: lo.toFixed(6) });
      whereStatus.dataset.state = "set";
    }
    if (map) {
      if (marker) { marker.setLatLng([la, lo]); } else {
        marker = L.circleMarker([la, lo], { radius: 8, color: "#c0392b", weight: 3, fillOpacity: 0.6 }).addTo(map);
      }
      map.panTo([la, lo]);
    }
  }

  var gps = document.getElementById("use-gps");
  if (gps && navigator.geolocation) {
    gps.hidden = false;
    gps.addEventListener("click", function () {
      whereStatus.textContent = text.locating || "";
      navigator.geolocation.getCurrentPosition(function (pos) {
        // The Geolocation API reports WGS-84, which is what the form declares.
        setPoint(pos.coords.longitude, pos.coords.latitude,
                 fmt(text.byGps, { metres: Math.round(pos.coords.accuracy || 0) }));
      }, function (err) {
        whereStatus.textContent = err.code === 1 ? text.gpsDenied : text.gpsFailed;
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });
  }

  var mapEl = document.getElementById("report-map");
  var mapConfig = json("report-map-config");
  if (mapEl && mapConfig && window.L) {
    map = L.map(mapEl, { attributionControl: Boolean(mapEl.dataset.tileUrl) });
    if (mapEl.dataset.tileUrl) {
      L.tileLayer(mapEl.dataset.tileUrl, { attribution: mapEl.dataset.tileAttribution || "", maxZoom: 19 }).addTo(map);
    }
    if (mapConfig.bounds) { map.fitBounds(mapConfig.bounds, { padding: [8, 8] }); }
    if (mapConfig.outlineUrl) {
      fetch(mapConfig.outlineUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (feature) {
          if (feature && feature.geometry) {
            L.geoJSON(feature, { style: { color: "#334e68", weight: 2, dashArray: "6 4", fillOpacity: 0.05 }, interactive: false }).addTo(map);
          }
          mapEl.dataset.state = "ready";
        })
        .catch(function () { mapEl.dataset.state = "ready"; });
    } else { mapEl.dataset.state = "ready"; }
    map.on("click", function (e) { setPoint(e.latlng.lng, e.latlng.lat, text.byPin); });
    if (lon.value && lat.value) { setPoint(parseFloat(lon.value), parseFloat(lat.value), text.kept); }
  }

  /* -- photos: uploaded on selection --------------------------------------------------- */
  var input = document.getElementById("photo-input");
  var previews = document.getElementById("photo-previews");
  var photoGps = document.getElementById("use-photo-gps");
  var csrf = form.querySelector("[name=csrfmiddlewaretoken]").value;
  var pending = 0;
  function ids() { return photos.value ? photos.value.split(",").filter(Boolean) : []; }
  function upload(file) {
    var body = new FormData();
    body.append("file", file);
    pending += 1;
    photoStatus.textContent = text.uploading || "";
    return fetch(form.dataset.uploadUrl, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRFToken": csrf, Accept: "application/json" }
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) { throw new Error(data.detail || String(r.status)); }
        return data;
      });
    }).then(function (photo) {
      photos.value = ids().concat([String(photo.id)]).join(",");
      var li = document.createElement("li");
      li.dataset.photo = photo.id;
      var img = document.createElement("img");
      img.src = photo.thumb_url;
      img.alt = file.name;
      li.appendChild(img);
      previews.appendChild(li);
      if (photo.exif_lon !== null && photo.exif_lat !== null && photoGps) {
        photoGps.hidden = false;
        photoGps.onclick = function () { setPoint(photo.exif_lon, photo.exif_lat, text.byPhoto); };
        if (!lon.value) { setPoint(photo.exif_lon, photo.exif_lat, text.byPhoto); }
      }
      photoStatus.textContent = fmt(text.uploaded, { count: ids().length });
    }).catch(function (err) {
      photoStatus.textContent = fmt(text.uploadFailed, { name: file.name, reason: err.message });
      photoStatus.classList.add("error");
    }).then(function () { pending -= 1; });
  }
  if (input && window.fetch && window.FormData) {
    input.classList.add("behind-label");
    input.addEventListener("change", function () {
      photoStatus.classList.remove("error");
      var files = Array.prototype.slice.call(input.files || []);
      Promise.all(files.map(upload)).then(function () {
        // Uploaded already: the form sends the ids, never the files a second time.
        input.value = "";
        form.dataset.photos = String(ids().length);
      });
    });
  }

  /* -- a fix on the spot shows what it needs ------------------------------------------ */
  var fixed = el("self_handled"), more = document.getElementById("self-handled-more");
  if (fixed && more) {
    var toggle = function () { more.hidden = !fixed.checked; };
    fixed.addEventListener("change", toggle);
    toggle();
  }

  /* -- one submit ------------------------------------------------------------------------ */
  form.addEventListener("submit", function (e) {
    if (pending > 0) {
      e.preventDefault();
      photoStatus.textContent = text.waitUpload || "";
      return;
    }
    if (form.dataset.sent) { e.preventDefault(); return; }
    form.dataset.sent = "1";
    var button = form.querySelector("button[type=submit]");
    if (button) { button.disabled = true; button.textContent = text.sending || button.textContent; }
  });
  window.addEventListener("pageshow", function (e) {
    // Back from the next page (bfcache): the form may be sent again, with the same key.
    if (e.persisted) {
      delete form.dataset.sent;
      var button = form.querySelector("button[type=submit]");
      if (button) { button.disabled = false; }
    }
  });
})();
