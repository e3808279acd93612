/* Sortable tables: click a header with data-sort ("num" or "text") to sort its column;
 * a cell's data-value, when present, is what sorts (e.g. "no worker" sorts as the highest). */
(function () {
  "use strict";
  function value(cell, kind) {
    var raw = cell.dataset.value !== undefined ? cell.dataset.value : cell.textContent.trim();
    if (kind === "num") {
      var n = parseFloat(String(raw).replace(/[^0-9.\-]/g, ""));
      return isNaN(n) ? -Infinity : n;
    }
    return String(raw);
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.querySelectorAll("thead th");
    heads.forEach(function (th, index) {
      var kind = th.dataset.sort;
      if (!kind) { return; }
      th.tabIndex = 0;
      function sort() {
        var descending = th.getAttribute("aria-sort") !== "descending";
        heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", descending ? "descending" : "ascending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows).filter(function (r) {
          return r.cells.length > index;
        });
        rows.sort(function (a, b) {
          var x = value(a.cells[index], kind), y = value(b.cells[index], kind);
          var c = kind === "num" ? x - y : x.localeCompare(y, "zh-Hans-CN");
          return descending ? -c : c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") { sort(); } });
    });
  });
})();
