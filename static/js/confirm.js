// Buttons that ask before they act: a form with data-confirm="question" is submitted only when
// the person says OK. A file, not an inline onsubmit handler, so the strict Content-Security-Policy
// (script-src 'self') lets it run.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form && form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
})();
