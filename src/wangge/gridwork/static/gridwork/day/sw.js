/* The day page's service worker — 离线: the page and its assets open without network.
 *
 * Served by the day app at /gridwork/day/sw.js (so its scope is /gridwork/day/), preceded by
 * ``self.WANGGE_DAY = {page, assets, version}``. The page is fetched from the network first
 * (always fresh when there is signal) and kept; without network the kept copy is shown, and
 * the outbox on the phone does the rest. Assets are kept at install and served from the
 * cache. Only GET requests are touched: changes go to the server or wait in the outbox.
 */
"use strict";
var DAY = self.WANGGE_DAY || { page: "/gridwork/day/", assets: [], version: "0" };
var CACHE = "wangge-day-" + DAY.version;

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    // The page too: the first visit was loaded before this worker existed.
    return Promise.all([cache.addAll(DAY.assets), cache.add(DAY.page)])
      .catch(function () { /* something missing: kept at the next visit */ });
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) {
      return k.indexOf("wangge-day-") === 0 && k !== CACHE;
    }).map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

function isPage(url) {
  return url.origin === self.location.origin && url.pathname === DAY.page;
}

function isAsset(url) {
  return url.origin === self.location.origin && DAY.assets.indexOf(url.pathname) !== -1;
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (isPage(url)) {
    event.respondWith(fetch(request).then(function (response) {
      // Keep only a real page (not a sign-in redirect or an error page).
      if (response.ok && !response.redirected) {
        var copy = response.clone();
        caches.open(CACHE).then(function (cache) { cache.put(DAY.page, copy); });
      }
      return response;
    }).catch(function () {
      return caches.open(CACHE).then(function (cache) { return cache.match(DAY.page); })
        .then(function (kept) { return kept || Response.error(); });
    }));
    return;
  }
  if (isAsset(url)) {
    event.respondWith(caches.open(CACHE).then(function (cache) {
      return cache.match(request).then(function (kept) {
        return kept || fetch(request).then(function (response) {
          if (response.ok) cache.put(request, response.clone());
          return response;
        });
      });
    }));
  }
});
