// Small progressive enhancements: the pages work without this file.
(function () {
  "use strict";
  // Confirmation for destructive buttons: <button data-confirm="...">.
  document.addEventListener("click", function (ev) {
    var el = ev.target.closest("[data-confirm]");
    if (el && !window.confirm(el.getAttribute("data-confirm"))) { ev.preventDefault(); }
  });
  // Copy buttons: <button data-copy="#element-id">.
  document.addEventListener("click", function (ev) {
    var el = ev.target.closest("[data-copy]");
    if (!el) return;
    ev.preventDefault();
    var src = document.querySelector(el.getAttribute("data-copy"));
    var text = src ? (src.value !== undefined && src.tagName !== "PRE" ? src.value : src.textContent) : "";
    var done = function () { var old = el.textContent; el.textContent = "Copied"; setTimeout(function () { el.textContent = old; }, 1500); };
    if (navigator.clipboard && window.isSecureContext) { navigator.clipboard.writeText(text).then(done, done); }
    else { var t = document.createElement("textarea"); t.value = text; document.body.appendChild(t); t.select(); try { document.execCommand("copy"); } catch (e) {} document.body.removeChild(t); done(); }
  });
})();
