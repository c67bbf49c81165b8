/* Status at a glance: streamers (state, rate, last message), flush lag per stream, Celery queue
 * depths, recent alerts and the dependency checks, polled from /api/status/*, /api/alerts/recent
 * and /health/ready.
 */

import { every, getJSON, placeholderUnavailable } from "./api.js";
import { $, h, s } from "./dom.js";
import { fmtAge, fmtClock, fmtInt, toMs } from "./format.js";

const STATUS_EVERY_MS = 2000;
const ALERTS_EVERY_MS = 5000;
const HEALTH_EVERY_MS = 10000;

const rateHistory = new Map();

function sparkline(values) {
  const width = 56;
  const height = 16;
  const svg = s("svg", { class: "spark", width, height, viewBox: `0 0 ${width} ${height}` });
  if (values.length < 2) return svg;
  const max = Math.max(...values, 1);
  const points = values.map((value, i) => `${((i / (values.length - 1)) * width).toFixed(1)},${(height - 1 - (value / max) * (height - 2)).toFixed(1)}`);
  svg.append(s("polyline", { points: points.join(" ") }));
  return svg;
}

function streamerHealth(row, lastMessageMs) {
  const state = String(row.state || "unknown");
  if (state === "connected") {
    // Connected but silent for a minute: the feed (or the process) has likely stalled.
    return lastMessageMs !== null && Date.now() - lastMessageMs > 60000 ? "warn" : "ok";
  }
  if (state === "connecting" || state === "reconnecting" || state === "starting") return "warn";
  // The hot store refuses writes: the streamer buffers in memory, nothing reaches readers.
  if (state === "store_down") return "bad";
  // Not every streamer runs all the time (replay runs on demand); that is not a fault.
  if (state === "stopped" || state === "disabled" || state === "not_running") return "idle";
  return "bad";
}

function renderTableBody(table, rows, empty, columns) {
  const body = table.querySelector("tbody");
  if (!rows.length) {
    body.replaceChildren(h("tr", { class: "placeholder" }, h("td", { colspan: columns, text: empty })));
    return;
  }
  body.replaceChildren(...rows);
}

async function refreshStreamers() {
  const list = await getJSON("status/streamers");
  const rows = list.map((row) => {
    const rate = Number(row.rate ?? row.messages_per_second ?? 0);
    const history = rateHistory.get(row.name) || [];
    history.push(rate);
    if (history.length > 60) history.shift();
    rateHistory.set(row.name, history);
    const lastMessage = toMs(row.last_message ?? row.last_message_ms);
    const since = toMs(row.connected_since);
    const downSince = toMs(row.store_down_since);
    const health = streamerHealth(row, lastMessage);
    const state = h("span", { class: "state" }, h("span", { class: "dot" }), String(row.state || "unknown"));
    return h(
      "tr",
      { "data-streamer": row.name, "data-state": row.state, "data-health": health, "data-rate": rate },
      h("td", { text: row.name }),
      h("td", {}, state),
      // A stopped streamer has no rate now: show a dash, not the last rate it wrote.
      h("td", { class: "num", text: row.state === "connected" || row.state === "store_down" ? rate.toFixed(1) : "—" }),
      h("td", {}, sparkline(history)),
      h("td", { class: "num", text: lastMessage === null ? "—" : `${fmtAge(lastMessage)} ago`, title: fmtClock(lastMessage) }),
      h("td", { class: "num", text: row.state === "connected" ? fmtAge(since) : "—", title: since ? `since ${fmtClock(since)}` : "" }),
      h("td", { class: "num", text: fmtInt(row.reconnects) }),
      h("td", { class: "num", text: fmtInt(row.gaps) }),
      h("td", { class: "num", text: fmtInt(row.store_outages ?? 0), title: downSince === null ? "" : `store down since ${fmtClock(downSince)}` }),
    );
  });
  renderTableBody($("#streamers"), rows, "no streamer has reported yet", 9);
}

function meter(value, scale, warn, bad) {
  const level = value >= bad ? "bad" : value >= warn ? "warn" : "ok";
  const fill = Math.min(100, scale ? (Math.log10(1 + value) / Math.log10(1 + scale)) * 100 : 0);
  const box = h("div", { class: "meter", "data-level": level });
  box.append(h("div", { class: "track" }, h("div", { class: "fill", style: `width:${fill.toFixed(1)}%` })), h("span", { class: "value", text: fmtInt(value) }));
  return box;
}

/** `md:trades:{ESZ26}` → `trades ESZ26` (market data is most of the list); the full key is the title. */
const streamLabel = (key) => key.replace(/^md:/, "").replace(/:\{([^}]+)\}$/, " $1");

async function refreshFlush() {
  const list = await getJSON("status/flush");
  const rows = list.map((row) => {
    const lag = Number(row.lag_entries ?? 0);
    const at = toMs(row.at);
    return h(
      "tr",
      { "data-stream": row.stream, "data-lag": lag },
      h("td", { class: "mono", text: streamLabel(row.stream), title: row.stream }),
      // Log scale to 100k entries: a healthy flush keeps a stream within a few thousand.
      h("td", {}, meter(lag, 100000, 5000, 50000)),
      h("td", { class: "num", text: fmtInt(row.pending) }),
      h("td", { class: "num", text: fmtInt(row.rows) }),
      h("td", { class: "num", text: at === null ? "never" : `${fmtAge(at)} ago`, title: fmtClock(at) }),
    );
  });
  renderTableBody($("#flush"), rows, "no stream flushed yet", 5);
}

async function refreshQueues() {
  const list = await getJSON("status/queues");
  const rows = list.map((row) =>
    h("tr", { "data-queue": row.queue, "data-depth": row.depth }, h("td", { text: row.queue }), h("td", {}, meter(Number(row.depth) || 0, 10000, 100, 1000))),
  );
  renderTableBody($("#queues"), rows, "no queues", 2);
}

async function refreshAlerts() {
  const list = await getJSON("alerts/recent", { count: 50 });
  const items = list.map((alert) => {
    const at = toMs(alert.time);
    return h(
      "li",
      { "data-alert": alert.id },
      h("span", { class: "time", text: fmtClock(at), title: at === null ? "" : new Date(at).toLocaleString() }),
      h("span", {}, h("span", { class: "symbol", text: alert.symbol || "" }), h("span", { class: "rule", text: alert.rule || "" })),
      h("span", { class: "message", text: alert.message || "" }),
    );
  });
  $("#alerts").replaceChildren(...(items.length ? items : [h("li", { class: "placeholder", text: "No alerts fired yet" })]));
}

async function refreshHealth() {
  const body = await getJSON("health/ready", {}, { base: "/" });
  const list = $("#health");
  list.replaceChildren(
    ...Object.entries(body.checks || {}).map(([name, check]) =>
      h("li", { "data-check": name, "data-ok": String(Boolean(check.ok)), title: `${check.detail} (${check.seconds} s)` }, h("span", { class: "dot" }), name),
    ),
  );
}

/** Poll every status panel. */
export function startStatusPanels() {
  every(STATUS_EVERY_MS, "streamers", refreshStreamers, placeholderUnavailable("#streamers"));
  every(STATUS_EVERY_MS, "flush", refreshFlush, placeholderUnavailable("#flush"));
  every(STATUS_EVERY_MS, "queues", refreshQueues, placeholderUnavailable("#queues"));
  every(ALERTS_EVERY_MS, "alerts", refreshAlerts, placeholderUnavailable("#alerts"));
  every(HEALTH_EVERY_MS, "health", refreshHealth);
}
