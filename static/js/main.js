// main.js: page bootstrap. Needs Shop from util.js and format.js.
// Deliberately an IIFE with NO trailing semicolon (tests safe bundle joining).
(function () {
  document.addEventListener("DOMContentLoaded", function () {
    document.documentElement.dataset.js = "ready";

    var status = Shop.byId("js-status");
    if (status) {
      status.textContent = "JS ready";
    }

    var receipt = Shop.byId("receipt");
    if (receipt) {
      receipt.textContent = Shop.formatReceipt(["Green Tea", "Earl Grey", "Oolong!"]);
    }
  });
})()
