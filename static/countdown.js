// Countdowns: <span class="countdown" data-until="ISO time" data-done="text"> shows the time left.
(function () {
  function pad(n) { return n < 10 ? "0" + n : String(n); }
  function tick() {
    document.querySelectorAll(".countdown[data-until]").forEach(function (el) {
      var left = Math.floor((Date.parse(el.dataset.until) - Date.now()) / 1000);
      if (isNaN(left)) { return; }
      if (left <= 0) { el.textContent = el.dataset.done || ""; return; }
      var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
      el.textContent = "(" + (h ? h + ":" : "") + pad(m) + ":" + pad(s) + ")";
    });
  }
  tick();
  setInterval(tick, 1000);
})();
