// Page-wide behaviour that the Content-Security-Policy keeps out of inline handlers.
document.addEventListener("change", (event) => {
  const select = event.target.closest("select[data-autosubmit]");
  if (select && select.form) select.form.submit();
});

// Flow control for the dashboard socket: every few applied frames, tell the server how many this
// connection has applied. The server keeps at most a window of frames unacknowledged, so a tab that
// falls behind (or sleeps) gets newer prices when it catches up instead of a growing backlog.
(function () {
  const ACK_EVERY = 4;
  let seen = 0;
  let acked = 0;
  document.addEventListener("htmx:wsOpen", () => {
    seen = 0;
    acked = 0;
  });
  document.addEventListener("htmx:wsAfterMessage", (event) => {
    seen += 1;
    if (seen - acked >= ACK_EVERY) {
      acked = seen;
      event.detail.socketWrapper.send(JSON.stringify({ seen }));
    }
  });
})();
