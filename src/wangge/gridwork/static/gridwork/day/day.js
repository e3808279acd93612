/* The grid worker's day — 网格员工作台: an outbox that keeps every change on the phone first.
 *
 * Every write (a target done, a form's person answered, a visit, a quick case report, a
 * patrol's start, points and end) becomes an item {key, kind, payload, base_version?, label} with a key made here, is
 * stored in localStorage, and is then sent to the server's sync endpoint in order: on load,
 * when the connection returns and every 30 s. The server answers each key with a receipt;
 * applied items leave the outbox, conflicts and refusals leave it too but are listed with the
 * server's words until dismissed. A key sent twice is applied once (the server keeps the
 * receipt), so a lost answer or a second flush never duplicates anything.
 */
(function () {
  "use strict";
  var cfgEl = document.getElementById("day-config");
  if (!cfgEl) return;
  var cfg = JSON.parse(cfgEl.textContent);
  var S = cfg.strings;
  var OUTBOX = "wangge.day.outbox." + cfg.user;
  var PATROL = "wangge.day.patrol." + cfg.user;
  var TRACK = "wangge.day.track." + cfg.user;
  // Targets and visits sent lately: a page kept for offline use was saved before they were
  // done, so they are shown as sent rather than offered again.
  var SENT = "wangge.day.sent." + cfg.user;
  var SENT_KEPT = 300;
  var BATCH = 50;
  var FLUSH_EVERY_MS = 30000;
  var BATCH_CHARS = 2000000;  // below the server's 2.5 MB limit on a request body
  var PHOTO_EDGE = 1600, PHOTO_QUALITY = 0.8, MAX_PHOTOS = 3;
  var flushing = false;
  var lastFix = null;
  var watchId = null;

  function fill(text, n) { return String(text).replace("%(n)s", n); }

  function read(name, fallback) {
    try { var v = JSON.parse(localStorage.getItem(name)); return v === null ? fallback : v; }
    catch (e) { return fallback; }
  }
  function write(name, value) { localStorage.setItem(name, JSON.stringify(value)); }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function csrfToken() {
    var m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (m) return decodeURIComponent(m[1]);
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // -- the outbox ----------------------------------------------------------------------------

  function outbox() { return read(OUTBOX, []); }

  function enqueue(item) {
    var items = outbox();
    item.at = new Date().toISOString();
    items.push(item);
    try {
      write(OUTBOX, items);
    } catch (e) {  // the phone's storage is full (photos are the large part)
      notice(S.noRoom);
      return false;
    }
    render();
    flush();
    return true;
  }

  function removeKeys(keys) {
    var gone = {};
    keys.forEach(function (k) { gone[k] = true; });
    write(OUTBOX, outbox().filter(function (i) { return !gone[i.key]; }));
  }

  function flush() {
    var items = outbox();
    if (flushing || !items.length || !navigator.onLine) { render(); return Promise.resolve(); }
    flushing = true;
    setCount(S.sending);
    // At most BATCH items and about BATCH_CHARS of JSON (photos are large), at least one.
    var batch = [], chars = 0;
    items.slice(0, BATCH).some(function (i) {
      var out = { key: i.key, kind: i.kind, payload: i.payload, label: i.label || "" };
      if (i.base_version !== undefined && i.base_version !== null) out.base_version = i.base_version;
      var size = JSON.stringify(out).length;
      if (batch.length && chars + size > BATCH_CHARS) return true;
      batch.push(out);
      chars += size;
      return false;
    });
    return fetch(cfg.syncUrl, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(),
                 "Accept": "application/json" },
      body: JSON.stringify({ items: batch })
    }).then(function (resp) {
      if (resp.status === 401 || resp.status === 403) { notice(S.signIn); return null; }
      notice("");
      if (!resp.ok) return null;
      return resp.json();
    }).then(function (body) {
      flushing = false;
      if (!body || !body.receipts) { render(); return; }
      var done = [];
      var sentList = read(SENT, []);
      body.receipts.forEach(function (r) {
        if (!r.key) return;
        done.push(r.key);
        var sent = batch.filter(function (i) { return i.key === r.key; })[0];
        if (r.outcome !== "applied") {
          addProblem(r.key, r.outcome, r.message, (sent && sent.label) || (r.detail && r.detail.label) || "");
        } else if (sent && (sent.kind === "target" || sent.kind === "visit" || sent.kind === "form")) {
          sentList.push({ kind: sent.kind, target: sent.payload.target, person: sent.payload.person,
                          tag: sent.payload.tag });
        }
      });
      write(SENT, sentList.slice(-SENT_KEPT));
      removeKeys(done);
      render();
      if (done.length && outbox().length) return flush();
    }, function () { flushing = false; render(); });
  }

  // -- what the page shows -------------------------------------------------------------------

  function setCount(text, n) {
    var el = document.getElementById("outbox-count");
    el.textContent = text;
    if (n !== undefined) el.dataset.count = String(n);
  }

  function notice(text) {
    document.getElementById("day-notice").textContent = text;
  }

  function render() {
    var items = outbox();
    var badge = document.getElementById("net-badge");
    badge.dataset.state = navigator.onLine ? "online" : "offline";
    badge.textContent = navigator.onLine ? S.online : S.offline;
    if (!flushing) setCount(items.length ? fill(S.waiting, items.length) : S.allSent, items.length);
    else document.getElementById("outbox-count").dataset.count = String(items.length);
    document.querySelectorAll(".waiting").forEach(function (el) { el.classList.remove("waiting"); });
    read(SENT, []).forEach(function (i) { var li = rowOf(i); if (li) li.classList.add("sent"); });
    items.forEach(function (i) { var li = rowOf(i.payload ? Object.assign({ kind: i.kind }, i.payload) : i); if (li) li.classList.add("waiting"); });
    document.querySelectorAll(".waiting-note").forEach(function (el) {
      el.hidden = !el.closest(".waiting");
    });
    renderPatrol();
  }

  function rowOf(i) {
    if (i.kind === "target") return document.querySelector('li.target[data-target="' + i.target + '"]');
    if (i.kind === "form") return document.querySelector('li.form-target[data-form-target="' + i.target + '"]');
    if (i.kind === "visit") return document.querySelector('li.visit[data-person="' + i.person + '"][data-tag="' + i.tag + '"]');
    return null;
  }

  function addProblem(key, outcome, message, label) {
    var list = document.getElementById("problem-list");
    if (list.querySelector('li[data-key="' + key + '"]')) return;
    var li = document.createElement("li");
    li.dataset.key = key;
    li.dataset.outcome = outcome;
    var strong = document.createElement("strong");
    strong.textContent = outcome === "conflict" ? S.conflict : S.refused;
    var lab = document.createElement("span");
    lab.className = "problem-label";
    lab.textContent = " " + label + " ";
    var msg = document.createElement("span");
    msg.className = "problem-message";
    msg.textContent = message;
    var button = document.createElement("button");
    button.type = "button";
    button.className = "link dismiss";
    button.textContent = S.dismiss;
    li.append(strong, lab, msg, " ", button);
    list.appendChild(li);
    document.getElementById("problems").hidden = false;
  }

  function dismiss(li) {
    var body = new URLSearchParams({ key: li.dataset.key });
    fetch(cfg.dismissUrl, {
      method: "POST", credentials: "same-origin", body: body,
      headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" }
    }).then(function (resp) {
      if (resp.ok || resp.status === 404) {
        li.remove();
        if (!document.querySelector("#problem-list li")) document.getElementById("problems").hidden = true;
      }
    }, function () { /* offline: stays listed */ });
  }

  document.getElementById("problem-list").addEventListener("click", function (e) {
    var button = e.target.closest("button");
    if (!button) return;
    e.preventDefault();
    dismiss(button.closest("li"));
  });

  // -- forms become outbox items -------------------------------------------------------------

  function itemFromForm(form, submitter) {
    var item = { key: uuid(), kind: form.dataset.kind, payload: {}, label: "" };
    var fields = Array.prototype.slice.call(form.elements);
    if (submitter && submitter.name) fields.push(submitter);
    fields.forEach(function (el) {
      if (!el.name || el.type === "submit" && el !== submitter) return;
      var v = el.value;
      if (el.name === "label") item.label = v;
      else if (el.name === "base_version") item.base_version = v === "" ? null : Number(v);
      else if (el.name.indexOf("p.") === 0) item.payload[el.name.slice(2)] = v;
      else if (el.name.indexOf("r.") === 0) (item.payload.result = item.payload.result || {})[el.name.slice(2)] = v;
      else if (el.name.indexOf("c.") === 0) (item.payload["case"] = item.payload["case"] || {})[el.name.slice(2)] = v;
    });
    return item;
  }

  // A photo is kept on the phone as a JPEG data URL, its longer edge at most PHOTO_EDGE pixels:
  // a few hundred kilobytes, so several reports fit in the phone's storage and one request.
  function shrink(file) {
    return new Promise(function (resolve, reject) {
      var url = URL.createObjectURL(file);
      var img = new Image();
      img.onload = function () {
        var scale = Math.min(1, PHOTO_EDGE / Math.max(img.naturalWidth, img.naturalHeight));
        var canvas = document.createElement("canvas");
        canvas.width = Math.max(1, Math.round(img.naturalWidth * scale));
        canvas.height = Math.max(1, Math.round(img.naturalHeight * scale));
        canvas.getContext("2d").drawImage(img, 0, 0, canvas.width, canvas.height);
        URL.revokeObjectURL(url);
        resolve(canvas.toDataURL("image/jpeg", PHOTO_QUALITY));
      };
      img.onerror = function () { URL.revokeObjectURL(url); reject(new Error("not an image")); };
      img.src = url;
    });
  }

  function photosOf(form) {
    var input = form.querySelector("input[type=file][name=photo]");
    var files = input && input.files ? Array.prototype.slice.call(input.files, 0, MAX_PHOTOS) : [];
    return Promise.all(files.map(shrink));
  }

  document.querySelectorAll("form.outbox-form").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var item = itemFromForm(form, e.submitter);
      if (item.kind === "visit") {
        item.payload.visited_at = new Date().toISOString();
        if (item.payload["case"] && !item.payload["case"].title) delete item.payload["case"];
      }
      if (item.kind !== "case") {
        enqueue(item);
        notice(navigator.onLine ? S.sending : S.queued);
        return;
      }
      if (lastFix) { item.payload.lon = lastFix.lon; item.payload.lat = lastFix.lat; }
      item.label = item.payload.title || "";
      photosOf(form).then(function (urls) {
        if (urls.length) item.payload.photos = urls;
        if (!enqueue(item)) return;  // kept the form as it is: nothing was saved
        form.reset();
        notice(navigator.onLine ? S.sending : S.queued);
      }, function () { notice(S.photoBad); });
    });
  });

  // -- GPS: patrols and the point of a report --------------------------------------------------

  function onFix(pos) {
    lastFix = { lon: pos.coords.longitude, lat: pos.coords.latitude,
                accuracy: pos.coords.accuracy, at: new Date(pos.timestamp || Date.now()).toISOString() };
    var where = document.getElementById("quick-case-where");
    if (where) where.textContent = fill(S.here, lastFix.lat.toFixed(5) + ", " + lastFix.lon.toFixed(5));
    if (read(PATROL, null)) {
      var track = read(TRACK, []);
      track.push(lastFix);
      write(TRACK, track);
      renderPatrol();
    }
  }

  function locateOnce() {
    if (!navigator.geolocation) return;
    navigator.geolocation.getCurrentPosition(onFix, function () {}, { timeout: 8000, maximumAge: 60000 });
  }

  function packPoints() {
    var patrol = read(PATROL, null);
    var track = read(TRACK, []);
    if (!patrol || !track.length) return;
    write(TRACK, []);
    patrol.sent += track.length;
    write(PATROL, patrol);
    enqueue({ key: uuid(), kind: "patrol_points", label: "",
              payload: { patrol: patrol.key, points: track } });
  }

  function watch() {
    if (watchId !== null || !navigator.geolocation) return;
    watchId = navigator.geolocation.watchPosition(onFix, function () {
      document.getElementById("patrol-status").textContent = S.noGps;
    }, { enableHighAccuracy: true, maximumAge: 5000 });
  }

  function renderPatrol() {
    var patrol = read(PATROL, null);
    var start = document.getElementById("patrol-start");
    var stop = document.getElementById("patrol-stop");
    if (!start) return;
    start.hidden = Boolean(patrol);
    stop.hidden = !patrol;
    if (patrol) {
      document.getElementById("patrol-status").textContent =
        fill(S.patrolOn, new Date(patrol.started).toLocaleTimeString()) + " · " +
        fill(S.points, patrol.sent + read(TRACK, []).length);
    }
  }

  var startButton = document.getElementById("patrol-start");
  if (startButton) {
    // The server knows of a patrol this phone forgot (storage cleared): carry on with it.
    if (cfg.openPatrol && !read(PATROL, null)) {
      write(PATROL, { key: cfg.openPatrol, started: new Date().toISOString(), sent: 0 });
    }
    startButton.addEventListener("click", function () {
      var patrol = { key: uuid(), started: new Date().toISOString(), sent: 0 };
      write(PATROL, patrol);
      write(TRACK, []);
      enqueue({ key: uuid(), kind: "patrol_start", label: "",
                payload: { patrol: patrol.key, started_at: patrol.started } });
      watch();
    });
    document.getElementById("patrol-stop").addEventListener("click", function () {
      var patrol = read(PATROL, null);
      if (watchId !== null) { navigator.geolocation.clearWatch(watchId); watchId = null; }
      packPoints();
      if (patrol) {
        enqueue({ key: uuid(), kind: "patrol_end", label: "",
                  payload: { patrol: patrol.key, ended_at: new Date().toISOString() } });
      }
      localStorage.removeItem(PATROL);
      document.getElementById("patrol-status").textContent = "";
      render();
    });
    if (read(PATROL, null)) watch();
  }

  var reportLink = document.getElementById("report-full");
  if (reportLink) {
    reportLink.addEventListener("click", function (e) {
      if (!lastFix) return;
      e.preventDefault();
      var url = new URL(reportLink.href, location.href);
      url.searchParams.set("lon", lastFix.lon.toFixed(6));
      url.searchParams.set("lat", lastFix.lat.toFixed(6));
      location.href = url.toString();
    });
    var quick = document.getElementById("quick-case");
    if (quick) quick.addEventListener("focusin", locateOnce, { once: true });
  }

  // -- the patrol track map ------------------------------------------------------------------

  var mapEl = document.getElementById("track-map");
  var tracksEl = document.getElementById("day-tracks");
  if (mapEl && tracksEl && window.L) {
    var tracks = JSON.parse(tracksEl.textContent);
    var map = L.map(mapEl, { attributionControl: false });
    if (cfg.tileUrl) L.tileLayer(cfg.tileUrl, { maxZoom: 19 }).addTo(map);
    var line = null;
    var show = function (id) {
      var pts = tracks[id] || [];
      if (line) { map.removeLayer(line); line = null; }
      if (!pts.length) { map.setView([36.6, 117.0], 13); return; }
      line = L.polyline(pts, { color: "#c0392b", weight: 4 }).addTo(map);
      map.fitBounds(line.getBounds(), { maxZoom: 17, padding: [12, 12] });
    };
    var first = Object.keys(tracks).filter(function (k) { return tracks[k].length; })[0];
    show(first || Object.keys(tracks)[0]);
    document.querySelectorAll(".show-track").forEach(function (b) {
      b.addEventListener("click", function () { show(b.dataset.patrol); });
    });
  }

  // -- connection and the service worker -----------------------------------------------------

  document.getElementById("flush-now").addEventListener("click", function () { flush(); });
  window.addEventListener("online", function () { render(); flush(); });
  window.addEventListener("offline", render);
  setInterval(function () {
    if (read(PATROL, null)) packPoints();
    flush();
  }, FLUSH_EVERY_MS);
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(cfg.swUrl, { scope: cfg.scope }).catch(function () {});
  }
  render();
  flush();
})();
