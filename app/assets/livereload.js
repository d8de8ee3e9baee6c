// Live reload for development: served by the app, injected only when auto-build is on.
(function () {
  "use strict";
  var OVERLAY = "assets-error-overlay";

  function escapeHtml(s) {
    return String(s).replace(/[&<>"]/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c];
    });
  }

  function showErrors(errors) {
    var old = document.getElementById(OVERLAY);
    if (old) old.remove();
    if (!errors.length) return;
    var div = document.createElement("div");
    div.id = OVERLAY;
    div.setAttribute("role", "alert");
    div.style.cssText =
      "position:fixed;inset:0;z-index:2147483647;background:rgba(20,20,20,.92);color:#fff;" +
      "padding:2rem;font:14px/1.5 monospace;overflow:auto";
    var items = errors.map(function (e) {
      var where = [e.file, e.line, e.line && e.column].filter(Boolean).join(":");
      if (e.bundle) where += " (bundle '" + e.bundle + "')";
      return '<li><code class="where">' + escapeHtml(where || "assets") +
        '</code><pre class="msg">' + escapeHtml(e.message) + "</pre></li>";
    });
    div.innerHTML = '<h2 style="color:#ff6b6b;margin-top:0">Asset build failed</h2>' +
      '<ul style="list-style:none;padding:0">' + items.join("") + "</ul>" +
      "<p>Fix the file and save: this page updates by itself.</p>";
    document.body.appendChild(div);
  }

  function swapCss(data) {
    var links = document.querySelectorAll('link[rel="stylesheet"][data-bundle="' + data.bundle + '"]');
    links.forEach(function (link) {
      // Load the new sheet beside the old one, then drop the old: no unstyled flash.
      var next = link.cloneNode();
      next.href = data.url;
      if (data.integrity && link.integrity) next.integrity = data.integrity;
      next.onload = function () { link.remove(); };
      link.after(next);
    });
    document.documentElement.dataset.assetsCssSwaps =
      String(Number(document.documentElement.dataset.assetsCssSwaps || 0) + 1);
  }

  var source = new EventSource("/__assets/events");
  source.addEventListener("css", function (ev) { swapCss(JSON.parse(ev.data)); });
  source.addEventListener("js", function () { location.reload(); });
  source.addEventListener("template", function () { location.reload(); });
  source.addEventListener("error", function (ev) {
    if (ev.data) showErrors(JSON.parse(ev.data).errors);
  });
  source.addEventListener("ok", function () { showErrors([]); });
})();
