/* The order book of the chosen symbol, live: it starts from /api/depth/live (every level, and the
 * /ws/depth position that book includes) and applies the operations /ws/depth sends after that
 * position. A gap (the server conflated a slow socket, or could not resume) loads the book again
 * on a fresh socket, so the book shown is never one with operations missing.
 *
 * Messages only change the model; the ladder and the heatmap read it once per animation frame.
 */

import { getJSON, recovered, report } from "./api.js";
import { compareIds } from "./format.js";
import { TopicSocket } from "./topic_socket.js";

export class Book {
  constructor() {
    this.reset(null);
  }

  reset(feed) {
    this.feed = feed;
    this.ready = false; // true once a whole book (a snapshot) is known
    this.bids = new Map(); // price -> size
    this.asks = new Map();
    this.version = 0; // bumped on every change: drawers redraw only when it moved
    this.lastUpdateMs = null;
    this.applied = 0;
  }

  load({ feed, bids, asks, last_update: lastUpdate }) {
    this.reset(feed);
    for (const [price, size] of bids) this.bids.set(price, size);
    for (const [price, size] of asks) this.asks.set(price, size);
    this.ready = true;
    this.lastUpdateMs = lastUpdate ? Date.parse(lastUpdate) : null;
    this.version += 1;
  }

  /** One /ws/depth event; operations of another feed are not this book's. */
  apply(event) {
    if (this.feed === null && event.op === "clear") this.feed = event.feed;
    if (event.feed !== this.feed) return;
    if (event.op === "clear") {
      this.bids.clear();
      this.asks.clear();
      this.ready = true;
    } else if (this.ready) {
      const side = event.side === "buy" ? this.bids : this.asks;
      if (event.size) side.set(event.price, event.size);
      else side.delete(event.price);
    } else {
      return; // an update before any snapshot: no book to apply it to yet
    }
    this.lastUpdateMs = event.ts_event / 1e6;
    this.applied += 1;
    this.version += 1;
  }

  bestBid() {
    let best = null;
    for (const price of this.bids.keys()) if (best === null || price > best) best = price;
    return best;
  }

  bestAsk() {
    let best = null;
    for (const price of this.asks.keys()) if (best === null || price < best) best = price;
    return best;
  }

  /** Levels best first: [[price, size], ...]. */
  levels(side, depth = Infinity) {
    const map = side === "bids" ? this.bids : this.asks;
    const sorted = [...map.entries()].sort((a, b) => (side === "bids" ? b[0] - a[0] : a[0] - b[0]));
    return sorted.slice(0, depth);
  }
}

/**
 * /ws/depth for one symbol. Like TopicSocket, it resumes after the last id it applied when the
 * connection drops (the server replays the operations in between); unlike it, a "conflated"
 * message or an error (operations skipped) makes it load the book again.
 */
export class DepthFeed extends TopicSocket {
  constructor({ book, onState }) {
    super("depth", { onEvents: (symbol, events) => this.applyAll(symbol, events), onState });
    this.book = book;
    this.symbol = null;
    this.generation = 0;
    this.lastResync = 0;
    this.resyncPending = false;
    this.resyncs = 0;
  }

  applyAll(symbol, events) {
    if (symbol !== this.symbol) return;
    for (const event of events) this.book.apply(event);
  }

  /** Follow `symbol` from its newest book. */
  async follow(symbol) {
    const generation = ++this.generation;
    this.symbol = symbol;
    this.want([]);
    this.book.reset(null);
    let body = null;
    try {
      body = await getJSON("depth/live", { symbol }, { missingOk: true });
      recovered("depth");
    } catch (error) {
      report("depth", error);
    }
    if (generation !== this.generation) return;
    if (body) this.book.load(body);
    // Without a book yet: live from now, the book starts at the next snapshot.
    this.want([symbol], { [symbol]: body ? body.through : null });
  }

  stop() {
    this.generation += 1;
    this.symbol = null;
    this.want([]);
  }

  /** Operations were skipped: drop this socket (and whatever it still carries) at once, then
   * load the book again on a fresh one (at most once a second). */
  resync(reason) {
    if (this.resyncPending || !this.symbol) return;
    this.resyncPending = true;
    this.resyncs += 1;
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.onmessage = null;
      socket.onclose = null;
      socket.close();
    }
    this.lastIds.clear();
    this.wanted = new Set();
    this.onState("reconnecting", reason);
    const wait = Math.max(0, this.lastResync + 1000 - Date.now());
    setTimeout(() => {
      this.resyncPending = false;
      this.lastResync = Date.now();
      if (this.symbol) this.follow(this.symbol).then(() => this.connect());
    }, wait);
  }

  receive(raw) {
    let message;
    try {
      message = JSON.parse(raw);
    } catch {
      report("/ws/depth", "a frame that is not JSON");
      return;
    }
    if (message.type === "conflated") {
      if (message.symbol === this.symbol) this.resync("the server skipped operations (slow socket): book loaded again");
      return;
    }
    if (message.type === "error") {
      // Every error on this topic means operations may be missing (a resume the hot store could
      // not serve continues live) or the subscription failed: start again from a whole book.
      report("/ws/depth", message.reason || "error");
      this.resync(message.reason || "error");
      return;
    }
    if (message.type !== "events" || !Array.isArray(message.events)) return;
    const symbol = message.symbol;
    if (!this.wanted.has(symbol)) return;
    const last = this.lastIds.get(symbol);
    const fresh = last ? message.events.filter((event) => compareIds(String(event.id), last) > 0) : message.events;
    if (!fresh.length) return;
    this.lastIds.set(symbol, String(fresh[fresh.length - 1].id));
    this.onEvents(symbol, fresh);
  }
}
