/* The depth heatmap, drawn the way Bookmap draws it: time runs left to right in columns, each
 * price tick is a row, and a cell's heat is the size resting at that price then; the trades of
 * each column are drawn over it as a small candle, with the session VWAP and the inside market.
 *
 * Drawn on a canvas once per animation frame, whatever the message rate. Finished columns are
 * painted once into an off-screen canvas that scrolls left by one column when the next begins;
 * a frame copies it and paints only the live column and the lines. Everything is painted again
 * only when the price leaves the middle of the view, the size changes, or a range is loaded.
 */

const BACKGROUND = "#0b0f14";
const PALETTE_STEPS = 64;
// Dark blue through cyan and yellow to white: little liquidity fades into the background.
const PALETTE = Array.from({ length: PALETTE_STEPS }, (_, index) => {
  const t = (index + 1) / PALETTE_STEPS;
  const stops = [
    [0, [14, 26, 48]],
    [0.35, [20, 110, 160]],
    [0.65, [60, 200, 190]],
    [0.85, [240, 210, 80]],
    [1, [255, 255, 240]],
  ];
  let i = 1;
  while (i < stops.length - 1 && stops[i][0] < t) i += 1;
  const [t0, c0] = stops[i - 1];
  const [t1, c1] = stops[i];
  const f = (t - t0) / (t1 - t0);
  const rgb = c0.map((value, k) => Math.round(value + (c1[k] - value) * f));
  return `rgb(${rgb[0]},${rgb[1]},${rgb[2]})`;
});
const MAX_LEVELS = 50;

function snapshotOf(book) {
  const levels = [];
  for (const side of [book.bids, book.asks]) {
    let count = 0;
    for (const [price, size] of side) {
      if (count >= MAX_LEVELS) break;
      levels.push(price, size);
      count += 1;
    }
  }
  return levels;
}

export class Heatmap {
  constructor(canvas, { columnMs = 250, colPx = 3, rowPx = 6 } = {}) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d", { alpha: false });
    this.columnMs = columnMs;
    this.colPx = colPx;
    this.rowPx = rowPx;
    this.tick = 0.25;
    this.columns = new Map(); // column index (ms / columnMs) -> {levels: [p, s, ...], candle}
    this.liveIndex = null;
    this.liveCandle = null;
    this.topPrice = null;
    this.reference = 1; // the size drawn at full heat
    this.live = true;
    this.needsFull = true;
    this.layers = [document.createElement("canvas"), document.createElement("canvas")];
    this.width = 0;
    this.height = 0;
    this.painted = 0; // level cells painted by the last frame (finished columns included)
    this.historyCells = 0;
  }

  setTick(tick) {
    this.tick = tick;
    this.clear();
  }

  clear() {
    this.columns.clear();
    this.liveIndex = null;
    this.liveCandle = null;
    this.topPrice = null;
    this.reference = 1;
    this.needsFull = true;
  }

  get capacity() {
    return Math.ceil(this.width / this.colPx) + 1;
  }

  /** Columns of /api/depth/history ([{start, bids, asks}]), `columnMs` wide. */
  loadColumns(columns, columnMs) {
    this.columnMs = columnMs;
    for (const column of columns) {
      const levels = [];
      for (const [price, size] of column.bids) levels.push(price, size);
      for (const [price, size] of column.asks) levels.push(price, size);
      const index = Math.floor(column.start / columnMs);
      const existing = this.columns.get(index);
      this.columns.set(index, { levels, candle: existing ? existing.candle : null });
      for (let k = 1; k < levels.length; k += 2) this.reference = Math.max(this.reference, levels[k]);
    }
    this.needsFull = true;
  }

  /** Trades by exchange time into the candles of their columns (a loaded range, or the minutes before live). */
  addTrades(trades) {
    for (const trade of trades) {
      const index = Math.floor(trade.ts_event / 1e6 / this.columnMs);
      if (this.live && this.liveIndex !== null && index >= this.liveIndex) {
        this.liveTrade(Number(trade.price));
        continue;
      }
      let column = this.columns.get(index);
      if (!column) {
        column = { levels: [], candle: null };
        this.columns.set(index, column);
      }
      column.candle = withTrade(column.candle, Number(trade.price));
    }
    this.needsFull = true;
  }

  /** A trade that just arrived: into the live column's candle. */
  liveTrade(price) {
    this.liveCandle = withTrade(this.liveCandle, price);
  }

  /** Show a past range: no live column, the view ends at `endMs`. */
  showRange(endMs) {
    this.live = false;
    this.liveIndex = Math.floor(endMs / this.columnMs) + 1;
    this.needsFull = true;
  }

  resume() {
    this.live = true;
    this.clear();
  }

  resize() {
    const ratio = Math.min(window.devicePixelRatio || 1, 2);
    const width = Math.max(1, Math.floor(this.canvas.clientWidth * ratio));
    const height = Math.max(1, Math.floor(this.canvas.clientHeight * ratio));
    if (width === this.width && height === this.height) return;
    this.width = width;
    this.height = height;
    for (const target of [this.canvas, ...this.layers]) {
      target.width = width;
      target.height = height;
    }
    this.needsFull = true;
  }

  y(price) {
    return Math.round(((this.topPrice - price) / this.tick) * this.rowPx);
  }

  /** Keep the inside market within the middle half of the view; true when the view moved. */
  follow(mid) {
    if (mid === null) return false;
    const rows = this.height / this.rowPx;
    if (this.topPrice !== null) {
      const offset = (this.topPrice - mid) / this.tick;
      if (offset > rows * 0.25 && offset < rows * 0.75) return false;
    }
    this.topPrice = Math.round((mid / this.tick + rows / 2)) * this.tick;
    return true;
  }

  paintLevels(ctx, x, levels) {
    const reference = this.reference;
    const width = this.colPx;
    const height = this.rowPx;
    let painted = 0;
    for (let k = 0; k < levels.length; k += 2) {
      const y = this.y(levels[k]);
      if (y < -height || y > this.height) continue;
      const heat = Math.min(PALETTE_STEPS - 1, Math.floor(Math.sqrt(levels[k + 1] / reference) * (PALETTE_STEPS - 1)));
      ctx.fillStyle = PALETTE[heat];
      ctx.fillRect(x, y - height / 2, width, height);
      painted += 1;
    }
    return painted;
  }

  paintCandle(ctx, x, candle) {
    if (!candle) return;
    const up = candle.close >= candle.open;
    ctx.fillStyle = up ? "#26a69a" : "#ef5350";
    const high = this.y(candle.high);
    const low = this.y(candle.low);
    ctx.fillRect(x + Math.floor(this.colPx / 2), high, 1, Math.max(1, low - high));
    const top = this.y(Math.max(candle.open, candle.close));
    const bottom = this.y(Math.min(candle.open, candle.close));
    ctx.fillRect(x, top - 1, this.colPx, Math.max(2, bottom - top + 2));
  }

  xOf(index) {
    return this.width - (this.liveIndex - index + 1) * this.colPx;
  }

  /** Paint every finished column into the back layer. */
  paintAll() {
    const layer = this.layers[0];
    const ctx = layer.getContext("2d");
    ctx.fillStyle = BACKGROUND;
    ctx.fillRect(0, 0, this.width, this.height);
    let cells = 0;
    if (this.topPrice !== null && this.liveIndex !== null) {
      const oldest = this.liveIndex - this.capacity;
      for (const [index, column] of this.columns) {
        if (index < oldest) {
          this.columns.delete(index);
          continue;
        }
        if (index >= this.liveIndex) continue;
        cells += this.paintLevels(ctx, this.xOf(index), column.levels);
      }
      for (const [index, column] of this.columns) {
        if (index < this.liveIndex) this.paintCandle(ctx, this.xOf(index), column.candle);
      }
    }
    this.historyCells = cells;
    this.needsFull = false;
  }

  /** The live column is finished: keep it, and scroll the back layer left by the columns elapsed. */
  advance(index, book) {
    const elapsed = index - this.liveIndex;
    const finished = { levels: snapshotOf(book), candle: this.liveCandle };
    for (let k = 1; k < finished.levels.length; k += 2) this.reference = Math.max(this.reference, finished.levels[k]);
    // A column in which nothing changed repeats the book, as the book stood.
    for (let k = 0; k < Math.min(elapsed, this.capacity); k += 1) {
      this.columns.set(this.liveIndex + k, k === 0 ? finished : { levels: finished.levels, candle: null });
    }
    this.columns.delete(this.liveIndex - this.capacity);
    this.liveIndex = index;
    this.liveCandle = null;
    if (elapsed >= this.capacity) this.needsFull = true; // e.g. the tab was hidden: nothing to scroll
    if (this.needsFull) return;
    const [front, back] = this.layers;
    const ctx = back.getContext("2d");
    const shift = elapsed * this.colPx;
    ctx.drawImage(front, -shift, 0);
    ctx.fillStyle = BACKGROUND;
    ctx.fillRect(this.width - shift, 0, shift, this.height);
    let cells = 0;
    for (let k = 0; k < elapsed; k += 1) {
      const column = this.columns.get(index - elapsed + k);
      if (!column) continue;
      const x = this.xOf(index - elapsed + k);
      cells += this.paintLevels(ctx, x, column.levels);
      this.paintCandle(ctx, x, column.candle);
    }
    this.historyCells += cells;
    this.layers = [back, front];
  }

  /** One animation frame. Returns the number of level cells visible. */
  draw(nowMs, book, vwap) {
    this.resize();
    const bid = book.bestBid();
    const ask = book.bestAsk();
    const mid = bid !== null && ask !== null ? (bid + ask) / 2 : bid ?? ask;
    if (this.follow(mid ?? this.centerOfColumns())) this.needsFull = true;
    if (this.live) {
      const index = Math.floor(nowMs / this.columnMs);
      if (this.liveIndex === null) this.liveIndex = index;
      else if (index > this.liveIndex) this.advance(index, book);
    }
    if (this.needsFull) this.paintAll();
    const ctx = this.ctx;
    ctx.drawImage(this.layers[0], 0, 0);
    let painted = this.historyCells;
    if (this.live && this.topPrice !== null) {
      const x = this.width - this.colPx;
      ctx.fillStyle = BACKGROUND;
      ctx.fillRect(x, 0, this.colPx, this.height);
      painted += this.paintLevels(ctx, x, snapshotOf(book));
      this.paintCandle(ctx, x, this.liveCandle);
    }
    if (this.topPrice !== null) {
      this.line(ctx, vwap, "#f0b429", [6, 4]);
      if (this.live) {
        this.line(ctx, bid, "rgba(38,166,154,.7)", [2, 3]);
        this.line(ctx, ask, "rgba(239,83,80,.7)", [2, 3]);
      }
      this.labels(ctx, vwap);
    }
    this.painted = painted;
    return painted;
  }

  centerOfColumns() {
    let newest = null;
    for (const [index, column] of this.columns) {
      if (column.levels.length && (newest === null || index > newest[0])) newest = [index, column.levels];
    }
    if (!newest) return null;
    let sum = 0;
    for (let k = 0; k < newest[1].length; k += 2) sum += newest[1][k];
    return sum / (newest[1].length / 2);
  }

  line(ctx, price, colour, dash) {
    if (price === null || price === undefined) return;
    const y = this.y(price) + 0.5;
    ctx.strokeStyle = colour;
    ctx.setLineDash(dash);
    ctx.beginPath();
    ctx.moveTo(0, y);
    ctx.lineTo(this.width, y);
    ctx.stroke();
    ctx.setLineDash([]);
  }

  labels(ctx, vwap) {
    ctx.font = "10px ui-monospace, Menlo, Consolas, monospace";
    ctx.fillStyle = "rgba(139,152,165,.9)";
    // Round steps (in ticks) at least 32 px apart: whole points for ES at this row height.
    const every = [1, 2, 4, 8, 10, 20, 40, 80, 100, 200, 400].find((ticks) => ticks * this.rowPx >= 32) ?? 400;
    const first = Math.ceil(this.topPrice / this.tick / every) * every;
    for (let step = first; ; step -= every) {
      const price = step * this.tick;
      const y = this.y(price);
      if (y > this.height) break;
      if (y > 8) ctx.fillText(price.toFixed(2), 4, y + 3);
    }
    if (vwap !== null && vwap !== undefined) {
      ctx.fillStyle = "#f0b429";
      ctx.fillText(`VWAP ${vwap.toFixed(2)}`, 60, this.y(vwap) - 3);
    }
  }
}

function withTrade(candle, price) {
  if (!candle) return { open: price, high: price, low: price, close: price };
  candle.high = Math.max(candle.high, price);
  candle.low = Math.min(candle.low, price);
  candle.close = price;
  return candle;
}
