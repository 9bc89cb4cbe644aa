// Progressive enhancement for the Charter console: every page works without this file.
// - [data-refresh]: the region is fetched again every few seconds (the inbox stays current).
// - form[data-confirm]: the browser asks for confirmation, with the form's own words,
//   before sending (the server still requires the confirmation field).
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function refresh(region) {
    var url = region.getAttribute("data-refresh");
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (response.redirected || response.status === 401) {
          window.location.reload();
          return null;
        }
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html !== null && html !== undefined && region.innerHTML.trim() !== html.trim()) {
          region.innerHTML = html;
        }
      })
      .catch(function () { /* offline for a moment: try again next time */ });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-refresh]").forEach(function (region) {
      var every = parseInt(region.getAttribute("data-every") || "3000", 10);
      window.setInterval(function () {
        if (!document.hidden) { refresh(region); }
      }, every);
    });
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
      });
    });
  });
})();
