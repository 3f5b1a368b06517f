// Fills <input data-browser-time-zone> with this browser's IANA time zone ("Asia/Manila"), so an
// account is created in the time zone its person lives in (editable later in Settings).
(function () {
  "use strict";
  var zone = "";
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (error) {
    zone = "";
  }
  document.querySelectorAll("input[data-browser-time-zone]").forEach(function (input) {
    input.value = zone;
  });
})();
