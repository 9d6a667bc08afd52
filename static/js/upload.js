// Upload with a real progress bar (bytes sent / total) and cancel. On failure the page is not
// reloaded, so everything typed in the form stays. Without JavaScript the form posts normally.
(function () {
  "use strict";
  var form = document.getElementById("material-form");
  var box = document.getElementById("upload-progress");
  if (!form || !box || !window.FormData || !window.XMLHttpRequest) { return; }
  var bar = box.querySelector(".progress-bar");
  var label = document.getElementById("upload-bytes");
  var cancel = document.getElementById("upload-cancel");
  var errorBox = document.getElementById("form-error");
  var xhr = null;

  function mb(n) { return (n / 1048576).toFixed(1) + " MB"; }
  function showError(message) {
    errorBox.textContent = message;
    errorBox.classList.remove("d-none");
    box.classList.add("d-none");
  }
  function markFields(fields) {
    Array.prototype.forEach.call(form.querySelectorAll(".is-invalid"), function (el) { el.classList.remove("is-invalid"); });
    Object.keys(fields || {}).forEach(function (name) {
      var input = form.querySelector("[name='" + name + "']");
      if (input) { input.classList.add("is-invalid"); }
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    errorBox.classList.add("d-none");
    xhr = new XMLHttpRequest();
    xhr.open("POST", form.getAttribute("action") || window.location.href);
    xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) { return; }
      var percent = Math.round((e.loaded / e.total) * 100);
      bar.style.width = percent + "%";
      bar.parentNode.setAttribute("aria-valuenow", String(percent));
      label.textContent = mb(e.loaded) + " / " + mb(e.total);
    });
    xhr.addEventListener("load", function () {
      var body = {};
      try { body = JSON.parse(xhr.responseText); } catch (ignore) { body = {}; }
      if (xhr.status >= 200 && xhr.status < 300 && body.redirect) {
        window.location.assign(body.redirect);
        return;
      }
      var err = body.error || {};
      markFields(err.fields);
      showError(err.message || ("HTTP " + xhr.status));
    });
    xhr.addEventListener("error", function () { showError(form.dataset.errorNetwork); });
    xhr.addEventListener("abort", function () { showError(form.dataset.cancelled); });
    box.classList.remove("d-none");
    bar.style.width = "0%";
    xhr.send(new FormData(form));
  });
  cancel.addEventListener("click", function () { if (xhr) { xhr.abort(); } });
}());
