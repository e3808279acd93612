/* The new-task form: show only what applies. The chosen matter item's fields (others are
 * hidden and disabled so they are not sent), place kinds for places, house use for
 * households, repeats for inspections. Without JavaScript everything shows and the server
 * checks the same rules. */
(function () {
  "use strict";
  var form = document.querySelector("[data-testid=task-form] form");
  if (!form) { return; }

  function field(name) { return form.querySelector("[data-field=" + name + "]"); }
  function value(name) {
    var checked = form.querySelector("[name=" + name + "]:checked");
    if (checked) { return checked.value; }
    var el = form.querySelector("select[name=" + name + "]");
    return el ? el.value : "";
  }
  function show(el, on) {
    if (!el) { return; }
    el.hidden = !on;
    el.style.display = on ? "" : "none";  // .field sets its own display
    el.querySelectorAll("input, select").forEach(function (i) { i.disabled = !on; });
  }

  function update() {
    var matter = value("matter");
    form.querySelectorAll(".matter-fields").forEach(function (group) {
      show(group, group.dataset.matter === matter);
    });
    var target = value("target_kind");
    show(field("place_kinds"), target === "place");
    show(field("house_usage"), target === "household");
    show(field("recurrence"), value("kind") === "inspection");
  }

  form.addEventListener("change", update);
  update();
}());
