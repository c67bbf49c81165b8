/* The price chart: candlesticks and volume of the picked symbol from /api/bars, kept live by the
 * trades of /ws/trades, with the last price, the change and the socket's state in the top bar.
 *
 * To start without a gap and without counting a trade twice, the bar still forming is rebuilt
 * from the trades it holds (/api/ticks), and the subscription starts after the last of them
 * (`since`); after a reconnect it starts after the last trade seen.
 */

import { getJSON, recovered, report } from "./api.js";
import { $, h, pressOne } from "./dom.js";
import { fmtInt, fmtPrice, iso, toMs } from "./format.js";
import { now as clockNow } from "./replay.js";
import { showSocketState, TopicSocket } from "./topic_socket.js";

const INTERVAL_MS = { "1s": 1000, "5s": 5000, "1m": 60000 };
// How much history each interval loads: about 900 bars, enough to read the session's shape.
const WINDOW_MS = { "1s": 15 * 60000, "5s": 75 * 60000, "1m": 15 * 3600000 };
const MAX_BARS = 5000;
// Tick sizes of the CME index futures the platform knows (apps/marketdata/symbols.py ROOTS), so
// the price axis steps in real ticks; anything else gets cents.
const TICK_SIZES = { ES: 0.25, MES: 0.25, NQ: 0.25, MNQ: 0.25, RTY: 0.1, M2K: 0.1, YM: 1, MYM: 1 };
const tickSize = (symbol) => {
  const root = (symbol.match(/^([A-Z0-9]+?)[FGHJKMNQUVXZ]\d{1,2}$/) || [])[1];
  return TICK_SIZES[root] ?? 0.01;
};

/** Build the chart in #price-chart, load the symbols and start following the first one. */
export function startPriceChart() {
  const chartBox = $("#price-chart");
  const chart = LightweightCharts.createChart(chartBox, {
    autoSize: true,
    layout: {
      background: { type: "solid", color: "#11171e" },
      textColor: "#8b98a5",
      fontSize: 11,
      fontFamily: "ui-monospace, Menlo, Consolas, monospace",
      attributionLogo: true,
    },
    grid: { vertLines: { color: "#18202a" }, horzLines: { color: "#18202a" } },
    rightPriceScale: { borderColor: "#202a35" },
    timeScale: { borderColor: "#202a35", timeVisible: true, secondsVisible: true, rightOffset: 4, barSpacing: 8 },
    crosshair: { mode: 0 },
    localization: {
      timeFormatter: (time) => new Date(time * 1000).toLocaleString(undefined, { hour12: false }),
    },
  });
  const candles = chart.addSeries(LightweightCharts.CandlestickSeries, {
    upColor: "#26a69a",
    downColor: "#ef5350",
    wickUpColor: "#26a69a",
    wickDownColor: "#ef5350",
    borderVisible: false,
    priceFormat: { type: "price", precision: 2, minMove: 0.01 },
  });
  candles.priceScale().applyOptions({ scaleMargins: { top: 0.08, bottom: 0.24 } });
  const volume = chart.addSeries(LightweightCharts.HistogramSeries, {
    priceFormat: { type: "volume" },
    priceScaleId: "volume",
    lastValueVisible: false,
    priceLineVisible: false,
  });
  volume.priceScale().applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });

  const market = {
    symbols: [],
    symbol: null,
    interval: "1s",
    bars: [], // {time (s), open, high, low, close, volume}, oldest first
    lastPrice: null,
    reference: null, // {price, label} the change is measured from
    generation: 0,
  };

  const volumeBar = (bar) => ({
    time: bar.time,
    value: bar.volume,
    color: bar.close >= bar.open ? "rgba(38,166,154,.45)" : "rgba(239,83,80,.45)",
  });

  function drawAllBars() {
    candles.setData(market.bars.map(({ time, open, high, low, close }) => ({ time, open, high, low, close })));
    volume.setData(market.bars.map(volumeBar));
  }

  function showChartState() {
    const last = market.bars[market.bars.length - 1];
    chartBox.dataset.bars = String(market.bars.length);
    chartBox.dataset.lastTime = last ? String(last.time) : "";
    chartBox.dataset.lastClose = last ? String(last.close) : "";
    $("#chart-caption").textContent = `${market.interval} bars · ${market.bars.length}`;
    $("#chart-ohlc").textContent = last
      ? `O ${fmtPrice(last.open)}  H ${fmtPrice(last.high)}  L ${fmtPrice(last.low)}  C ${fmtPrice(last.close)}  V ${fmtInt(last.volume)}`
      : "no bars yet";
  }

  function showPrice(price, tradeId) {
    const element = $("#last-price");
    const previous = market.lastPrice;
    market.lastPrice = price;
    element.textContent = fmtPrice(price);
    element.dataset.price = price === null ? "" : String(price);
    if (tradeId) element.dataset.tradeId = tradeId;
    element.classList.toggle("tick-up", previous !== null && price > previous);
    element.classList.toggle("tick-down", previous !== null && price < previous);
    const change = $("#price-change");
    const reference = market.reference;
    if (price === null || !reference) {
      change.textContent = "—";
      change.dataset.change = "";
      change.dataset.sign = "";
      return;
    }
    const diff = price - reference.price;
    const pct = reference.price ? (diff / reference.price) * 100 : 0;
    change.textContent = `${diff >= 0 ? "+" : "−"}${fmtPrice(Math.abs(diff))} (${diff >= 0 ? "+" : "−"}${Math.abs(pct).toFixed(2)}%)`;
    change.dataset.change = diff.toFixed(2);
    change.dataset.sign = diff > 0 ? "up" : diff < 0 ? "down" : "flat";
    change.title = `${reference.label}: ${fmtPrice(reference.price)}`;
  }

  /** Fold trades into bars of the current interval. Returns true when an older bar changed. */
  function foldTrades(trades) {
    const step = INTERVAL_MS[market.interval];
    let rewrite = false;
    for (const trade of trades) {
      const price = Number(trade.price);
      const size = Number(trade.size) || 0;
      const time = Math.floor(toMs(trade.ts_event) / step) * step / 1000;
      const last = market.bars[market.bars.length - 1];
      if (!last || time > last.time) {
        market.bars.push({ time, open: price, high: price, low: price, close: price, volume: size });
        continue;
      }
      // A late trade for an earlier bar (feeds can deliver slightly out of order).
      let index = market.bars.length - 1;
      while (index > 0 && market.bars[index].time > time) index -= 1;
      const bar = market.bars[index];
      if (bar.time !== time) {
        const at = bar.time < time ? index + 1 : index;
        market.bars.splice(at, 0, { time, open: price, high: price, low: price, close: price, volume: size });
        rewrite = true;
        continue;
      }
      bar.high = Math.max(bar.high, price);
      bar.low = Math.min(bar.low, price);
      bar.close = price;
      bar.volume += size;
      if (index !== market.bars.length - 1) rewrite = true;
    }
    if (market.bars.length > MAX_BARS) {
      market.bars.splice(0, market.bars.length - MAX_BARS);
      rewrite = true;
    }
    return rewrite;
  }

  function onTrades(symbol, trades) {
    if (symbol !== market.symbol) return;
    const before = market.bars.length ? market.bars[market.bars.length - 1].time : null;
    const rewrite = foldTrades(trades);
    if (rewrite || before === null) {
      drawAllBars();
    } else {
      // update() takes the last bar or a newer one; redraw each bar this batch opened, in order.
      for (const bar of market.bars.filter((item) => item.time >= before)) {
        candles.update({ time: bar.time, open: bar.open, high: bar.high, low: bar.low, close: bar.close });
        volume.update(volumeBar(bar));
      }
    }
    const last = trades[trades.length - 1];
    showPrice(Number(last.price), String(last.id));
    showChartState();
  }

  const tradesSocket = new TopicSocket("trades", {
    onEvents: onTrades,
    onState: (state, detail) => showSocketState($("#trades-socket"), "trades", state, detail),
  }).start();

  async function allTrades(symbol, startMs) {
    const trades = [];
    let cursor = null;
    for (let page = 0; page < 20; page += 1) {
      const body = await getJSON("ticks", {
        symbol,
        start: iso(startMs),
        end: iso(clockNow() + 60000),
        cursor,
        limit: 5000,
      });
      trades.push(...body.trades);
      cursor = body.next_cursor;
      if (!cursor) break;
    }
    return trades;
  }

  async function changeReference(symbol) {
    const body = await getJSON("bars", { symbol, interval: "1d", start: iso(clockNow() - 8 * 86400000), end: iso(clockNow() + 60000) });
    const days = body.bars || [];
    if (days.length >= 2) return { price: days[days.length - 2].close, label: "prior day's close" };
    if (days.length === 1) return { price: days[0].open, label: "today's open" };
    return null;
  }

  async function loadSymbol() {
    const generation = ++market.generation;
    const { symbol, interval } = market;
    const step = INTERVAL_MS[interval];
    const current = market.symbols.find((item) => item.contract === symbol);
    $("#quote-symbol").textContent = current && current.alias && current.alias !== symbol ? `${current.alias} ${symbol}` : symbol;
    $("#chart-title").textContent = symbol;
    $("#chart-caption").textContent = `${interval} bars · loading…`;
    tradesSocket.want([]);
    const tick = tickSize(symbol);
    const precision = tick >= 1 ? 0 : String(tick).split(".")[1].length;
    candles.applyOptions({ priceFormat: { type: "price", precision, minMove: tick } });
    market.bars = [];
    market.lastPrice = null;
    market.reference = null;
    drawAllBars();
    showPrice(null);
    showChartState();

    const now = clockNow();
    const [barsBody, reference] = await Promise.all([
      getJSON("bars", { symbol, interval, start: iso(now - WINDOW_MS[interval]), end: iso(now + 60000) }),
      changeReference(symbol).catch(() => null),
    ]);
    if (generation !== market.generation) return;
    const bars = (barsBody.bars || []).map((bar) => ({
      time: Math.floor(toMs(bar.start_ms ?? bar.time) / 1000),
      open: bar.open,
      high: bar.high,
      low: bar.low,
      close: bar.close,
      volume: bar.volume,
    }));
    // Rebuild the forming bar (and anything after it) from its trades, so the live stream can
    // resume exactly after the last of them.
    const formingMs = bars.length ? bars[bars.length - 1].time * 1000 : Math.floor(now / step) * step;
    const trades = await allTrades(symbol, formingMs);
    if (generation !== market.generation) return;
    market.bars = bars.filter((bar) => bar.time * 1000 < formingMs);
    foldTrades(trades);
    drawAllBars();
    chart.timeScale().scrollToRealTime();
    const lastTrade = trades[trades.length - 1];
    const lastBar = market.bars[market.bars.length - 1];
    market.reference = reference || (market.bars.length ? { price: market.bars[0].open, label: "open of the window" } : null);
    showPrice(lastTrade ? Number(lastTrade.price) : lastBar ? lastBar.close : null, lastTrade ? String(lastTrade.id) : "");
    showChartState();
    tradesSocket.want([symbol], { [symbol]: lastTrade ? String(lastTrade.id) : null });
  }

  function reloadSymbol() {
    const generation = market.generation + 1;
    loadSymbol().then(
      () => recovered("price chart"),
      (error) => {
        report("price chart", error);
        $("#chart-caption").textContent = `${market.interval} bars · unavailable, retrying`;
        // Try again unless the trader has picked something else meanwhile.
        setTimeout(() => generation === market.generation && reloadSymbol(), 5000);
      },
    );
  }

  async function loadSymbols() {
    const body = await getJSON("symbols");
    market.symbols = body.symbols || [];
    const picker = $("#symbol-picker");
    picker.replaceChildren(
      ...market.symbols.map((item) =>
        h("option", { value: item.contract, text: item.alias && item.alias !== item.contract ? `${item.alias} · ${item.contract}` : item.contract }),
      ),
    );
    if (!market.symbols.length) {
      picker.append(h("option", { value: "", text: "no symbols configured" }));
      $("#chart-caption").textContent = "no symbols configured (admin → runtime settings)";
      return;
    }
    const remembered = localStorage.getItem("dashboard.symbol");
    market.symbol = market.symbols.some((item) => item.contract === remembered) ? remembered : market.symbols[0].contract;
    picker.value = market.symbol;
    reloadSymbol();
  }

  $("#symbol-picker").addEventListener("change", (event) => {
    if (!event.target.value) return;
    market.symbol = event.target.value;
    localStorage.setItem("dashboard.symbol", market.symbol);
    reloadSymbol();
  });

  $("#interval-picker").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-interval]");
    if (!button || button.dataset.interval === market.interval) return;
    pressOne($("#interval-picker"), button);
    market.interval = button.dataset.interval;
    if (market.symbol) reloadSymbol();
  });

  function startMarket() {
    loadSymbols().then(
      () => recovered("symbols"),
      (error) => {
        report("symbols", error);
        $("#chart-caption").textContent = "symbols unavailable, retrying";
        setTimeout(startMarket, 5000);
      },
    );
  }

  startMarket();
  return { chart, candles, volume, market, tradesSocket };
}
