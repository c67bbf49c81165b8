/* What the price chart draws over its candles: the session breaks and the contract roll (vertical
 * lines from /api/sessions), and the GEX levels (zero gamma, call and put walls, the majors) as
 * horizontal price lines whose labels never overlap.
 *
 * The lines are the chart's own price lines (they follow the price scale); their labels are ours,
 * laid out by `layoutLabels` so that levels a few ticks apart stay readable, each label tied to its
 * line. Vertical lines are placed before the first bar of each session, as Sierra Chart and
 * TradingView draw session breaks; a session with no bar on the chart has no break drawn.
 */

import { h } from "./dom.js";
import { fmtPrice } from "./format.js";
import { fmtZoneDateTime } from "./exchange_time.js";

const LEVEL_STYLE = {
  zero: { color: "#e0b341", title: "zero γ" },
  call: { color: "#26a69a", title: "C wall" },
  put: { color: "#ef5350", title: "P wall" },
  pos: { color: "#4fa3e0", title: "+major" },
  neg: { color: "#c774e8", title: "−major" },
};
export const LABEL_HEIGHT = 15;

/** Positions for labels wanted at `ys` (any order), each `height` tall, kept inside [top,
 * bottom]: as close to its wish as possible with no two overlapping. Returns the positions in
 * the order given. */
export function layoutLabels(ys, { height = LABEL_HEIGHT, top = 0, bottom = Infinity } = {}) {
  const order = ys.map((y, index) => ({ y, index })).sort((a, b) => a.y - b.y);
  const placed = order.map((item) => item.y - height / 2);
  // Push down what overlaps the label above it, then pull up from the bottom edge.
  for (let i = 0; i < placed.length; i += 1) {
    placed[i] = Math.max(placed[i], top, i ? placed[i - 1] + height : -Infinity);
  }
  for (let i = placed.length - 1; i >= 0; i -= 1) {
    placed[i] = Math.min(placed[i], bottom - height, i < placed.length - 1 ? placed[i + 1] - height : Infinity);
  }
  const result = new Array(ys.length);
  order.forEach((item, i) => {
    result[item.index] = placed[i];
  });
  return result;
}

/** The levels of a snapshot as a futures chart shows them: moved by `basis` (futures price minus
 * the index's spot at the snapshot's time) when the GEX ticker is an index, as they are otherwise. */
export function levelsOnChart(snapshot, { index = false, basis = 0 } = {}) {
  if (!snapshot) return [];
  const shift = index ? basis : 0;
  const levels = [
    ["zero", snapshot.zero_gamma],
    ["call", snapshot.call_wall],
    ["put", snapshot.put_wall],
    ["pos", snapshot.major_pos_oi ?? snapshot.major_pos_vol],
    ["neg", snapshot.major_neg_oi ?? snapshot.major_neg_vol],
  ];
  return levels
    .filter(([, price]) => price !== null && price !== undefined && Number.isFinite(Number(price)))
    .map(([kind, price]) => ({ kind, price: Number(price) + shift, source: Number(price) }));
}

export class ChartOverlays {
  constructor({ chart, candles, box, market }) {
    this.chart = chart;
    this.candles = candles;
    this.market = market;
    this.box = box;
    this.layer = h("div", { class: "chart-overlay", "aria-hidden": "true" });
    box.append(this.layer);
    this.sessions = [];
    this.rolls = [];
    this.levels = [];
    this.priceLines = [];
    this.frame = 0;
    // The price scale takes in the levels, as TradingView's indicators make it do.
    candles.applyOptions({
      autoscaleInfoProvider: (original) => {
        const range = original();
        if (!range || !this.levels.length) return range;
        const prices = this.levels.map((level) => level.price);
        return {
          ...range,
          priceRange: {
            minValue: Math.min(range.priceRange.minValue, ...prices),
            maxValue: Math.max(range.priceRange.maxValue, ...prices),
          },
        };
      },
    });
    chart.timeScale().subscribeVisibleLogicalRangeChange(() => this.schedule());
    new ResizeObserver(() => this.schedule()).observe(box);
    // The price scale moves with every new bar; follow it cheaply.
    setInterval(() => this.schedule(), 500);
  }

  setSessions(sessions, rolls) {
    this.sessions = sessions;
    this.rolls = rolls;
    this.schedule();
  }

  /** `levels`: [{kind, price, source}] from levelsOnChart; `detail` says whose they are. */
  setLevels(levels, detail = "") {
    const key = JSON.stringify(levels);
    if (key === this.levelsKey) return; // the panel re-announces its snapshot every few seconds
    this.levelsKey = key;
    for (const line of this.priceLines) this.candles.removePriceLine(line);
    this.priceLines = levels.map((level) =>
      this.candles.createPriceLine({
        price: level.price,
        color: LEVEL_STYLE[level.kind].color,
        lineWidth: 1,
        lineStyle: 2,
        axisLabelVisible: false,
        title: "",
      }),
    );
    this.levels = levels;
    this.box.dataset.levels = String(levels.length);
    this.box.dataset.levelsOf = detail;
    this.schedule();
  }

  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  /** The x of the gap before the first bar at or after `ms`, or null when no bar is there. */
  xBefore(ms) {
    const bars = this.market.bars;
    const time = ms / 1000;
    let low = 0;
    let high = bars.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (bars[mid].time < time) low = mid + 1;
      else high = mid;
    }
    if (low >= bars.length || low === 0) return null;
    const scale = this.chart.timeScale();
    // Half way between the last bar before and the first bar of the session (a fractional
    // logical index is not placed by lightweight-charts).
    const before = scale.logicalToCoordinate(low - 1);
    const after = scale.logicalToCoordinate(low);
    if (before === null || after === null) return null;
    const x = (before + after) / 2;
    return x < 0 || x > scale.width() ? null : x;
  }

  draw() {
    const nodes = [];
    const height = this.box.clientHeight;
    const breaks = [];
    for (const session of this.sessions) {
      const x = this.xBefore(Date.parse(session.open));
      if (x === null) continue;
      breaks.push(String(Date.parse(session.open) / 1000));
      const line = h("div", {
        class: `session-break${session.early_close ? " after-early-close" : ""}`,
        "data-time": Date.parse(session.open) / 1000,
        "data-trade-date": session.trade_date,
        title: `${session.trade_date} opens ${fmtZoneDateTime(Date.parse(session.open))}`,
      });
      line.style.left = `${Math.round(x)}px`;
      line.append(h("span", { text: session.trade_date.slice(5) }));
      nodes.push(line);
    }
    for (const roll of this.rolls) {
      const x = this.xBefore(Date.parse(roll.at));
      if (x === null) continue;
      const line = h("div", { class: "roll-break", "data-time": Date.parse(roll.at) / 1000, "data-after": roll.after });
      line.style.left = `${Math.round(x)}px`;
      line.append(h("span", { text: `roll ${roll.before} → ${roll.after}` }));
      nodes.push(line);
    }
    this.box.dataset.sessionBreaks = breaks.join(",");

    // Labels at the right edge of the plot, left of the price axis, never on top of each other.
    const plotWidth = this.chart.timeScale().width();
    // A level off the scale (the trader zoomed in) is pinned to the edge with an arrow.
    const shown = this.levels
      .map((level) => ({ level, y: this.candles.priceToCoordinate(level.price) }))
      .filter((item) => item.y !== null);
    const ys = layoutLabels(shown.map((item) => Math.min(Math.max(item.y, 0), height - 28)), { top: 0, bottom: height - 28 });
    shown.forEach((item, i) => {
      const { level } = item;
      const label = h("div", {
        class: `level-label level-${level.kind}`,
        "data-level": level.kind,
        "data-price": level.price,
        "data-source-price": level.source,
        text: `${LEVEL_STYLE[level.kind].title} ${fmtPrice(level.price)}${item.y < 0 ? " ↑" : item.y > height - 28 ? " ↓" : ""}`,
      });
      label.style.top = `${Math.round(ys[i])}px`;
      label.style.right = `${Math.max(0, this.box.clientWidth - plotWidth) + 4}px`;
      nodes.push(label);
    });
    this.layer.replaceChildren(...nodes);
  }
}
