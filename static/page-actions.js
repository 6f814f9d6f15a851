/* Behaviour the markup asks for with data- attributes, so that no page needs an inline script or an
 * on...= handler (the Content-Security-Policy allows neither; core/security_headers.py):
 *   <form data-confirm="Question?">      asks before the form is submitted;
 *   <button data-confirm="Question?">    asks before the button's action (submit) goes ahead;
 *   <button data-print> / <a data-print> prints the page;
 *   <div data-percent="42">              sets the element's width (a progress bar), as style="" would.
 * Loaded on every page by base.html. */
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("[data-print], [data-confirm]:not(form)") : null;
    if (!target) {
      return;
    }
    if (target.hasAttribute("data-print")) {
      event.preventDefault();
      window.print();
      return;
    }
    if (!window.confirm(target.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.hasAttribute && form.hasAttribute("data-confirm") && !window.confirm(form.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });

  document.querySelectorAll("[data-percent]").forEach(function (el) {
    var percent = Number(el.getAttribute("data-percent"));
    if (!isNaN(percent)) {
      el.style.width = Math.min(100, Math.max(0, percent)) + "%";
    }
  });
})();
