/* The depth panel: a heatmap of resting liquidity with the trades over it, and a DOM ladder, for
 * the symbol the price chart shows; live from /ws/depth and /ws/trades, or a past range from the
 * lake (/api/depth/history, /api/ticks, /api/profile). Volume by price and the VWAP come from
 * /api/profile (the session, or the range) plus the trades that follow it.
 *
 * Messages change the models; one requestAnimationFrame loop draws. Each frame's drawing time
 * (performance.now() around the heatmap and around the ladder) is kept in window.dashboard.depth
 * .frames for the browser test and bench/depth_frames.py.
 */

import { getJSON, recovered, report } from "./api.js";
import { $ } from "./dom.js";
import { compareIds, fmtInt, fmtPrice, iso } from "./format.js";
import { Book, DepthFeed } from "./depth_book.js";
import { Heatmap } from "./depth_heatmap.js";
import { Ladder } from "./depth_ladder.js";
import { now as clockNow } from "./replay.js";
import { tickSize } from "./tick_size.js";
import { showSocketState, TopicSocket } from "./topic_socket.js";
import { RECENT_MS, VolumeProfile } from "./volume_profile.js";

const FRAMES_KEPT = 20_000;
const HISTORY_LEVELS = 10;

class FrameTimes {
  constructor() {
    this.heatmap = new Float64Array(FRAMES_KEPT);
    this.ladder = new Float64Array(FRAMES_KEPT);
    this.count = 0;
  }

  record(heatmap, ladder) {
    const at = this.count % FRAMES_KEPT;
    this.heatmap[at] = heatmap;
    this.ladder[at] = ladder;
    this.count += 1;
  }

  reset() {
    this.count = 0;
  }

  /** The kept frames, oldest first: [{heatmap, ladder, total}] in milliseconds. */
  list() {
    const kept = Math.min(this.count, FRAMES_KEPT);
    const first = this.count - kept;
    const out = [];
    for (let k = first; k < this.count; k += 1) {
      const at = k % FRAMES_KEPT;
      out.push({ heatmap: this.heatmap[at], ladder: this.ladder[at], total: this.heatmap[at] + this.ladder[at] });
    }
    return out;
  }
}

async function tradesBetween(symbol, startMs, endMs, pages = 4) {
  const trades = [];
  let cursor = null;
  for (let page = 0; page < pages; page += 1) {
    const body = await getJSON("ticks", { symbol, start: iso(startMs), end: iso(endMs), cursor, limit: 5000 });
    trades.push(...body.trades);
    cursor = body.next_cursor;
    if (!cursor) break;
  }
  return trades;
}

/** Start the panel; `symbolOf()` names the symbol the rest of the dashboard shows. */
export function startDepthPanel({ symbolOf }) {
  const panel = $("#depth-panel");
  const book = new Book();
  const profile = new VolumeProfile();
  const heatmap = new Heatmap($("#depth-heatmap"));
  const ladder = new Ladder($("#depth-ladder"));
  const frames = new FrameTimes();
  // drawAlways: the ladder draws every frame even when nothing changed (bench/depth_frames.py's
  // reference phase does the same work as its loaded phase).
  const state = { symbol: null, mode: "live", generation: 0, drawn: [-1, -1], caption: 0, force: false, drawAlways: false };

  const feed = new DepthFeed({
    book,
    onState: (socketState, detail) => showSocketState($("#depth-socket"), "depth", socketState, detail),
  }).start();
  const trades = new TopicSocket("trades", {
    onEvents: (symbol, events) => {
      if (symbol !== state.symbol || state.mode !== "live") return;
      profile.add(events);
      for (const trade of events) heatmap.liveTrade(Number(trade.price));
    },
    onState: () => {},
  }).start();

  function setState(value, caption) {
    panel.dataset.state = value;
    if (caption !== undefined) $("#depth-caption").textContent = caption;
  }

  async function loadLive(symbol) {
    const generation = ++state.generation;
    state.mode = "live";
    state.symbol = symbol;
    pressLive(true);
    const tick = tickSize(symbol);
    ladder.setTick(tick);
    heatmap.resume();
    heatmap.setTick(tick);
    profile.reset();
    trades.want([]);
    setState("loading", `${symbol} · loading…`);
    await feed.follow(symbol);
    const now = clockNow();
    heatmap.resize();
    const windowMs = heatmap.capacity * heatmap.columnMs;
    const [history, session] = await Promise.all([
      getJSON("depth/history", {
        symbol,
        start: iso(now - windowMs),
        end: iso(now),
        step_ms: heatmap.columnMs,
        levels: HISTORY_LEVELS,
      }),
      getJSON("profile", { symbol }),
    ]);
    if (generation !== state.generation) return;
    heatmap.loadColumns(history.columns, history.step_ms);
    profile.load(session);
    // The trades of the heatmap's window and the last minute, up to the last one the profile
    // counted; the socket follows from there.
    const recent = (await tradesBetween(symbol, now - Math.max(windowMs, RECENT_MS), now)).filter(
      (trade) => session.through && compareIds(String(trade.id), session.through) <= 0,
    );
    if (generation !== state.generation) return;
    profile.add(recent, { session: false });
    heatmap.addTrades(recent);
    trades.want([symbol], { [symbol]: session.through });
    recovered("depth panel");
  }

  async function loadRange(symbol, startMs, spanMs) {
    const generation = ++state.generation;
    state.mode = "range";
    pressLive(false);
    feed.stop();
    trades.want([]);
    heatmap.resize();
    const step = Math.max(250, Math.ceil(spanMs / heatmap.capacity));
    const endMs = startMs + spanMs;
    setState("loading", `${symbol} · loading ${iso(startMs)}…`);
    const [history, range, rangeTrades] = await Promise.all([
      getJSON("depth/history", { symbol, start: iso(startMs), end: iso(endMs), step_ms: step, levels: HISTORY_LEVELS }),
      getJSON("profile", { symbol, start: iso(startMs), end: iso(endMs) }),
      tradesBetween(symbol, startMs, endMs),
    ]);
    if (generation !== state.generation) return;
    heatmap.clear();
    heatmap.setTick(tickSize(symbol));
    heatmap.columnMs = history.step_ms;
    const last = history.columns[history.columns.length - 1];
    // The server stops at now: the view ends where the columns do.
    heatmap.showRange(last ? last.start + history.step_ms - 1 : endMs);
    heatmap.loadColumns(history.columns, history.step_ms);
    heatmap.addTrades(rangeTrades);
    profile.load(range);
    book.reset(history.feed);
    if (last) book.load({ feed: history.feed, bids: last.bids, asks: last.asks });
    ladder.setTick(tickSize(symbol));
    state.force = true;
    setState(
      history.feed ? "range" : "empty",
      `${symbol} · ${new Date(startMs).toLocaleString()} + ${Math.round(spanMs / 60000)} min · ${history.step_ms} ms columns` +
        (history.feed ? ` · ${history.feed}` : " · no depth in this range"),
    );
  }

  function pressLive(live) {
    $("#depth-live").setAttribute("aria-pressed", String(live));
  }

  function run(task) {
    task.then(
      () => recovered("depth panel"),
      (error) => {
        report("depth panel", error);
        setState("error", "unavailable, retrying");
        const generation = state.generation;
        setTimeout(() => generation === state.generation && state.symbol && run(loadLive(state.symbol)), 5000);
      },
    );
  }

  // The range picker starts a quarter of an hour back, in the browser's time (a datetime-local value).
  const pad = (value) => String(value).padStart(2, "0");
  const back = new Date(clockNow() - 15 * 60000);
  $("#depth-from").value =
    `${back.getFullYear()}-${pad(back.getMonth() + 1)}-${pad(back.getDate())}T${pad(back.getHours())}:${pad(back.getMinutes())}:00`;

  $("#depth-live").addEventListener("click", () => state.symbol && run(loadLive(state.symbol)));
  $("#depth-show").addEventListener("click", () => {
    const from = $("#depth-from").value;
    if (!state.symbol || !from) return;
    run(loadRange(state.symbol, new Date(from).getTime(), Number($("#depth-span").value) * 60000));
  });

  // Follow the dashboard's symbol.
  setInterval(() => {
    const symbol = symbolOf();
    if (symbol && symbol !== state.symbol) run(loadLive(symbol));
  }, 250);

  function caption() {
    if (state.mode !== "live" || !state.symbol) return;
    const vwap = profile.vwap;
    $("#depth-vwap").textContent = `VWAP ${vwap === null ? "—" : fmtPrice(vwap)} · vol ${fmtInt(profile.volume)}`;
    $("#depth-vwap").dataset.vwap = vwap === null ? "" : String(vwap);
    if (!book.ready) {
      setState("empty", `${state.symbol} · waiting for a book snapshot`);
      return;
    }
    setState("live", `${state.symbol} · ${book.feed} · ${book.bids.size}×${book.asks.size} levels · ${fmtInt(book.applied)} updates`);
  }

  function frame() {
    requestAnimationFrame(frame);
    const start = performance.now();
    const now = clockNow();
    if (state.mode === "live") profile.expire(now);
    heatmap.draw(now, book, profile.vwap);
    const between = performance.now();
    if (state.force || state.drawAlways || book.version !== state.drawn[0] || profile.version !== state.drawn[1]) {
      ladder.draw(book, profile);
      state.drawn = [book.version, profile.version];
      state.force = false;
    }
    const end = performance.now();
    frames.record(between - start, end - between);
    if (now - state.caption > 500) {
      state.caption = now;
      caption();
      if (state.mode === "range") {
        $("#depth-vwap").textContent = `VWAP ${profile.vwap === null ? "—" : fmtPrice(profile.vwap)} · vol ${fmtInt(profile.volume)}`;
        $("#depth-vwap").dataset.vwap = profile.vwap === null ? "" : String(profile.vwap);
      }
    }
  }
  requestAnimationFrame(frame);

  return { book, profile, heatmap, ladder, feed, trades, frames, state };
}
