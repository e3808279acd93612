// Signed out (or never signed in): forget the grid worker's day page kept for offline use, so
// the next person on a shared phone cannot open the previous user's masked list without
// signal. Unsent items stay in the outbox, keyed by account, until that account signs in.
(function () {
  if (!("caches" in window)) return;
  caches.keys().then(function (keys) {
    keys.forEach(function (k) { if (k.indexOf("wangge-day-") === 0) caches.delete(k); });
  });
})();
