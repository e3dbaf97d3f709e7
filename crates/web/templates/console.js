// The console works without scripts; this only adds conveniences: a header checkbox that ticks every row of
// its form, and a question before actions marked data-confirm.
document.addEventListener("change", function (e) {
  var name = e.target.getAttribute("data-select-all");
  if (!name) return;
  var form = e.target.form || document;
  form.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (box) {
    box.checked = e.target.checked;
  });
});
document.addEventListener("submit", function (e) {
  var b = e.submitter;
  var q = b && b.getAttribute("data-confirm");
  if (q && !window.confirm(q)) e.preventDefault();
});
document.addEventListener("change", function (e) {
  if (e.target.id === "lang-switch" && e.target.form) e.target.form.submit();
});
// "Go back" on an error page returns to the page whose form failed, its typing kept, where the browser can.
document.addEventListener("click", function (e) {
  var a = e.target.closest && e.target.closest("a[data-back]");
  if (a && window.history.length > 1) {
    e.preventDefault();
    window.history.back();
  }
});
