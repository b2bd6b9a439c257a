// Refreshes the dashboard's panels in place (issue #14 §1): every few seconds the page is
// fetched again and each <section data-panel> whose content changed is replaced, so a reader
// keeps their place. The page is complete without this script; it only saves a reload.
(function () {
  "use strict";
  var script = document.currentScript;
  var seconds = Number((script && script.dataset.seconds) || 15);
  function refresh() {
    fetch(window.location.href, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      })
      .then(function (text) {
        var fresh = new DOMParser().parseFromString(text, "text/html");
        fresh.querySelectorAll("section[data-panel]").forEach(function (section) {
          var name = section.getAttribute("data-panel");
          var shown = document.querySelector('section[data-panel="' + name + '"]');
          if (shown && shown.innerHTML !== section.innerHTML) {
            shown.innerHTML = section.innerHTML;
          }
        });
        var today = fresh.querySelector('[data-key="today"]');
        var shownToday = document.querySelector('[data-key="today"]');
        if (today && shownToday) { shownToday.textContent = today.textContent; }
      })
      .catch(function () { /* the hub is restarting: try again next time */ })
      .then(function () { window.setTimeout(refresh, seconds * 1000); });
  }
  window.setTimeout(refresh, seconds * 1000);
})();
