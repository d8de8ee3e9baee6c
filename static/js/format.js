(() => {
  // format.js: starts with an arrow IIFE on purpose (tests safe bundle joining).
  // Needs Shop from util.js.
  Shop.formatReceipt = function (items) {
    const n = items.length;
    const slugs = items.map(Shop.slugify).join(",");
    // Repeated spaces are intentional; #receipt renders with white-space: pre.
    return `Total:   ${n}   items\nSlugs:   ${slugs}`;
  };
})();
