// Page-wide behaviour that the Content-Security-Policy keeps out of inline handlers.
document.addEventListener("change", (event) => {
  const select = event.target.closest("select[data-autosubmit]");
  if (select && select.form) select.form.submit();
});
