// gallery.js: gallery page only (bundle: js_gallery). Needs Shop from js_all.
(function () {
  document.addEventListener("DOMContentLoaded", function () {
    var figures = document.querySelectorAll(".gallery-grid figure");
    var count = Shop.byId("gallery-count");
    if (count) {
      count.textContent = figures.length + " teas";
    }
    document.body.dataset.gallery = "ready";
  });
})();
