// util.js: defines the Shop namespace and small helpers. Loaded first.
window.Shop = window.Shop || {};

Shop.slugify = function (text) {
  return String(text).toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
};

Shop.byId = function (id) {
  return document.getElementById(id);
};
