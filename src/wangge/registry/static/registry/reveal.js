/* Reveal buttons on a person card (查看明文): each form posts its field, purpose and detail
   to the audited reveal API and shows the answer in place of the mask. The server checks
   the permission, the purpose and the scope, and writes the audit record first; nothing is
   stored here, and reloading the page shows the mask again. */
(function () {
  "use strict";
  var stringsEl = document.getElementById("reveal-strings");
  var text = stringsEl ? JSON.parse(stringsEl.textContent) : {};
  function fmt(template, reason) { return (template || "%(reason)s").replace("%(reason)s", reason); }
  function reasonFor(status) {
    if (status === 403) { return text.forbidden; }
    if (status === 404) { return text.missing; }
    if (status === 422) { return text.invalid; }
    return text.error;
  }
  document.querySelectorAll("form.reveal-form").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var status = document.getElementById(form.dataset.status);
      var target = document.getElementById(form.dataset.target);
      var button = form.querySelector("button");
      var body = {
        object_type: form.dataset.objectType,
        object_id: form.dataset.objectId,
        field: form.dataset.field,
        purpose: form.elements.purpose.value,
        detail: form.elements.detail.value
      };
      button.disabled = true;
      fetch(form.dataset.url, {
        method: "POST", credentials: "same-origin", cache: "no-store",
        headers: {
          "Content-Type": "application/json", Accept: "application/json",
          "X-CSRFToken": form.querySelector("[name=csrfmiddlewaretoken]").value
        },
        body: JSON.stringify(body)
      }).then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (data) {
          if (!r.ok) { throw new Error(reasonFor(r.status)); }
          return data;
        });
      }).then(function (data) {
        target.textContent = data.value;
        target.classList.add("revealed");
        status.textContent = text.shown || "";
        form.closest("details").open = false;
      }).catch(function (err) {
        status.textContent = fmt(text.failed, err.message);
      }).then(function () { button.disabled = false; });
    });
  });
})();
