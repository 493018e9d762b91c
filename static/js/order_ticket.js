// Order ticket: price steps and snapping use the server's own tick tables (rendered into the page),
// so what the trader sees is what the server accepts. The server re-validates every order anyway.
(function () {
  "use strict";
  const tablesEl = document.getElementById("tick-tables");
  if (!tablesEl) return;
  const tables = JSON.parse(tablesEl.textContent);
  const form = document.getElementById("ticket-form");
  const symbolInput = document.getElementById("ticket-symbol");
  const priceInput = document.getElementById("ticket-price");
  const typeSelect = document.getElementById("ticket-type");
  const bandEl = document.getElementById("ticket-band");

  function option(code) {
    return document.querySelector('#symbol-list option[value="' + code + '"]');
  }
  function kind() {
    const opt = option(symbolInput.value.trim().toUpperCase());
    return opt ? opt.dataset.kind : "stock";
  }
  function tick(price) {
    const table = tables.fund_kinds.includes(kind()) ? tables.fund : tables.stock;
    for (const [lower, size] of table) if (price >= lower) return size;
    return 1;
  }
  function snap(price) {
    if (!(price > 0)) return price;
    return price - (price % tick(price));
  }
  function step(price, direction) {
    if (direction > 0) return price + tick(price);
    const below = price - 1;
    return below > 0 ? snap(below) : price;
  }
  function fmt(n) { return Number(n).toLocaleString("ko-KR"); }

  function refreshSymbol() {
    const opt = option(symbolInput.value.trim().toUpperCase());
    if (!opt) { bandEl.textContent = ""; return; }
    bandEl.textContent = opt.textContent + " · " + fmt(opt.dataset.lower) + " ~ " + fmt(opt.dataset.upper);
    if (!priceInput.value && typeSelect.value === "limit") priceInput.value = snap(Number(opt.dataset.last));
  }
  function refreshType() {
    const market = typeSelect.value === "market";
    priceInput.disabled = market;
    if (market) priceInput.value = "";
  }

  symbolInput.addEventListener("change", refreshSymbol);
  symbolInput.addEventListener("input", () => { symbolInput.value = symbolInput.value.toUpperCase(); });
  typeSelect.addEventListener("change", refreshType);
  priceInput.addEventListener("blur", () => {
    const value = Number(priceInput.value.replace(/[^0-9]/g, ""));
    if (value > 0) priceInput.value = snap(value);
  });
  form.querySelectorAll("button[data-step]").forEach((button) => {
    button.addEventListener("click", () => {
      const current = Number(priceInput.value) || Number((option(symbolInput.value) || {dataset: {}}).dataset.last) || 0;
      if (current > 0) priceInput.value = step(snap(current), Number(button.dataset.step));
    });
  });
  document.body.addEventListener("htmx:wsOpen", () => { document.getElementById("live-status").textContent = "● 실시간"; });
  document.body.addEventListener("htmx:wsClose", () => { document.getElementById("live-status").textContent = "○ 재연결 중…"; });
  // A fresh client_order_id per submission: a double click or a retried request never places two orders.
  form.addEventListener("htmx:configRequest", (event) => {
    event.detail.parameters.client_order_id = crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random();
  });
  refreshType();
})();
