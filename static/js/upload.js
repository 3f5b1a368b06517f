// Episode uploads with a progress bar: the form is sent by XMLHttpRequest so the browser can
// report upload progress. Without JavaScript the same form posts normally.
(function () {
  "use strict";

  function setup(form) {
    var box = form.querySelector(".upload-progress");
    var bar = box.querySelector("progress");
    var text = box.querySelector("p");
    var errorBox = form.querySelector(".upload-error");
    var fileInput = form.querySelector("input[type=file]");
    var maxBytes = parseInt(form.dataset.maxBytes, 10);

    function showError(message) {
      errorBox.textContent = message;
      errorBox.hidden = false;
      box.hidden = true;
      form.querySelector("[type=submit]").disabled = false;
    }

    form.addEventListener("submit", function (event) {
      var file = fileInput && fileInput.files[0];
      if (file && maxBytes && file.size > maxBytes) {
        event.preventDefault();
        showError("The file is larger than the " + form.dataset.maxSize + " limit.");
        return;
      }
      if (!window.FormData || !window.XMLHttpRequest) { return; }
      event.preventDefault();
      errorBox.hidden = true;
      box.hidden = false;
      bar.value = 0;
      text.textContent = file ? "Uploading…" : "Saving…";
      form.querySelector("[type=submit]").disabled = true;

      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.getAttribute("action") || window.location.href);
      xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) {
          var pct = Math.floor((e.loaded / e.total) * 100);
          bar.value = pct;
          text.textContent = "Uploading… " + pct + "%";
        }
      });
      xhr.upload.addEventListener("load", function () {
        bar.value = 100;
        text.textContent = "Checking the video…";
      });
      xhr.addEventListener("load", function () {
        var body = null;
        try { body = JSON.parse(xhr.responseText); } catch (ignored) { body = null; }
        if (xhr.status >= 200 && xhr.status < 300 && body && body.redirect) {
          window.location.assign(body.redirect);
        } else if (body && body.error) {
          showError(body.error.message);
        } else if (xhr.status === 413) {
          showError("The file is larger than the " + form.dataset.maxSize + " limit.");
        } else {
          showError("The upload failed (HTTP " + xhr.status + "). Please try again.");
        }
      });
      xhr.addEventListener("error", function () {
        showError("The connection was lost during the upload. Please try again.");
      });
      xhr.send(new FormData(form));
    });
  }

  document.querySelectorAll("form[data-upload]").forEach(setup);
})();
