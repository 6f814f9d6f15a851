// Countdowns, a progressive enhancement: the page shows the absolute time; this adds the time left.
//   <span class="countdown" data-until="ISO time" data-done="text">            (h:mm:ss), for short windows;
//   <span class="countdown" data-until="…" data-long="1" data-days="{d} d {h} h left"
//         data-hours="{h} h {m} min left" data-minutes="{m} min left" data-done="…">
//                                                                             for deadlines days away, with
//   the texts in the reader's language from the server (no inline script: the CSP forbids it).
(function () {
  "use strict";
  function pad(n) { return n < 10 ? "0" + n : String(n); }
  function fill(pattern, d, h, m) {
    return (pattern || "").replace("{d}", d).replace("{h}", h).replace("{m}", m);
  }
  function tick() {
    document.querySelectorAll(".countdown[data-until]").forEach(function (el) {
      var left = Math.floor((Date.parse(el.dataset.until) - Date.now()) / 1000);
      if (isNaN(left)) { return; }
      if (left <= 0) { el.textContent = el.dataset.done || ""; return; }
      var d = Math.floor(left / 86400), h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
      if (el.dataset.long) {
        var text = d >= 1 ? fill(el.dataset.days, d, h % 24, m)
          : h >= 1 ? fill(el.dataset.hours, d, h, m) : fill(el.dataset.minutes, d, h, Math.max(m, 1));
        el.textContent = "(" + text + ")";
        return;
      }
      el.textContent = "(" + (h ? h + ":" : "") + pad(m) + ":" + pad(s) + ")";
    });
  }
  tick();
  setInterval(tick, 1000);
})();
