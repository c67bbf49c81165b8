/* A WebSocket topic (/ws/<topic>) with the gateway's protocol: subscribe, unsubscribe, resume with `since`. */

import { recovered, report } from "./api.js";
import { compareIds } from "./format.js";
import { replaySuffix } from "./replay.js";

const root = document.getElementById("dashboard");
const WS = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${root.dataset.wsBase}`;
// The server answers this subprotocol. The page signs in with its session cookie; a token, if a
// page ever needs one, goes beside it as "token.<secret>", never in the URL (URLs are logged).
const PROTOCOLS = ["pipeline.v1"];

/**
 * One socket per topic. Keeps the wanted symbols subscribed across reconnects, drops events
 * already seen (ids are stream positions) and resumes after the last one seen.
 */
export class TopicSocket {
  constructor(topic, { onEvents, onState }) {
    this.topic = topic;
    this.onEvents = onEvents;
    this.onState = onState;
    this.wanted = new Set();
    this.lastIds = new Map();
    this.socket = null;
    this.delay = 500;
    this.state = "connecting";
  }

  start() {
    this.connect();
    return this;
  }

  setState(state, detail = "") {
    this.state = state;
    this.onState(state, detail);
  }

  connect() {
    this.setState(this.state === "connecting" ? "connecting" : "reconnecting");
    let socket;
    try {
      socket = new WebSocket(`${WS}${this.topic}${replaySuffix()}`, PROTOCOLS);
    } catch (error) {
      this.retry(`cannot open (${error.message})`);
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      this.delay = 500;
      this.setState("live");
      recovered(`/ws/${this.topic}`);
      if (this.wanted.size) this.subscribe([...this.wanted]);
    };
    socket.onmessage = (message) => this.receive(message.data);
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      const reason = event.code === 4008 ? "slow consumer, resuming" : `closed (${event.code}${event.reason ? ` ${event.reason}` : ""})`;
      this.retry(reason);
    };
  }

  retry(reason) {
    this.setState(this.delay >= 4000 ? "offline" : "reconnecting", reason);
    if (this.delay >= 4000) report(`/ws/${this.topic}`, `${reason}; retrying`);
    setTimeout(() => this.connect(), this.delay);
    this.delay = Math.min(this.delay * 2, 8000);
  }

  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  subscribe(symbols) {
    const since = {};
    for (const symbol of symbols) if (this.lastIds.has(symbol)) since[symbol] = this.lastIds.get(symbol);
    this.send({ action: "subscribe", symbols, ...(Object.keys(since).length ? { since } : {}) });
  }

  /** Subscribe to exactly `symbols`; `since` maps a symbol to the id to resume after (or null for live). */
  want(symbols, since = {}) {
    const next = new Set(symbols);
    const gone = [...this.wanted].filter((symbol) => !next.has(symbol));
    if (gone.length) this.send({ action: "unsubscribe", symbols: gone });
    for (const symbol of gone) this.lastIds.delete(symbol);
    for (const [symbol, id] of Object.entries(since)) {
      if (id) this.lastIds.set(symbol, id);
      else this.lastIds.delete(symbol);
    }
    this.wanted = next;
    if (symbols.length) this.subscribe(symbols);
  }

  receive(raw) {
    let message;
    try {
      message = JSON.parse(raw);
    } catch {
      report(`/ws/${this.topic}`, "a frame that is not JSON");
      return;
    }
    if (message.type === "error") {
      report(`/ws/${this.topic}`, message.reason || "error");
      return;
    }
    if ((message.type !== "events" && message.type !== "conflated") || !Array.isArray(message.events)) return;
    const symbol = message.symbol;
    if (!this.wanted.has(symbol)) return;
    const last = this.lastIds.get(symbol);
    const fresh = last ? message.events.filter((event) => compareIds(String(event.id), last) > 0) : message.events;
    if (!fresh.length) return;
    this.lastIds.set(symbol, String(fresh[fresh.length - 1].id));
    this.onEvents(symbol, fresh);
  }
}

export function showSocketState(element, topic, state, detail) {
  element.dataset.state = state;
  element.textContent = `${topic} · ${state === "live" ? "live" : state}`;
  element.title = `WebSocket /ws/${topic}${detail ? `: ${detail}` : ""}`;
}
