// One-minute candles from /api/bars, redrawn when the symbol changes and refreshed every 10 s.
// Korean colours: rising candles red, falling blue.
(function () {
  "use strict";
  const el = document.getElementById("chart");
  const select = document.getElementById("chart-symbol");
  if (!el || !select || !window.LightweightCharts) return;
  const chart = LightweightCharts.createChart(el, { height: 260, timeScale: { timeVisible: true, secondsVisible: false } });
  const series = chart.addCandlestickSeries({ upColor: "#d32f2f", downColor: "#1565c0", borderUpColor: "#d32f2f", borderDownColor: "#1565c0", wickUpColor: "#d32f2f", wickDownColor: "#1565c0" });
  const KST_OFFSET_S = 9 * 3600; // the chart library draws UTC; shift so the axis reads Seoul time

  async function load() {
    const url = el.dataset.barsUrl + "?symbol=" + encodeURIComponent(select.value) + "&interval=1m";
    const response = await fetch(url, { credentials: "same-origin" });
    if (!response.ok) return;
    const bars = await response.json();
    series.setData(bars.map((b) => ({ time: Date.parse(b.t) / 1000 + KST_OFFSET_S, open: b.o, high: b.h, low: b.l, close: b.c })));
  }
  select.addEventListener("change", load);
  load();
  setInterval(load, 10000);
  new ResizeObserver(() => chart.applyOptions({ width: el.clientWidth })).observe(el);
})();
