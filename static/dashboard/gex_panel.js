/* The GEX panel: net GEX by strike as horizontal bars (by OI or by volume) with spot, zero gamma
 * the major levels and (computed snapshots) the call and put walls marked, from /api/gex/latest
 * and then /ws/gex; "no GEX data yet" until the
 * first snapshot of the ticker and category is recorded. Values are shown as the source gave them,
 * with the snapshot's `units`.
 *
 * The panel follows the chart's symbol (ES -> ES_SPX, gex_tickers.js), hands the snapshot it shows
 * to the chart ("gex:levels" on document) and has a scrubber: the levels in force at any time of
 * the trading day, from the stored snapshots (/api/gex/at), until "live" is pressed again.
 */

import { every, getJSON, recovered, report } from "./api.js";
import { $, h, pressOne, s } from "./dom.js";
import { fmtAge, fmtCompact, fmtPrice, iso, toMs } from "./format.js";
import { LABEL_HEIGHT, layoutLabels } from "./chart_overlays.js";
import { fmtZoneClock, fmtZoneDateTime, zoneAbbreviation } from "./exchange_time.js";
import { gexFor } from "./gex_tickers.js";
import { showSocketState, TopicSocket } from "./topic_socket.js";

// A safety net for when the socket is down: snapshots arrive every few seconds at most.
const GEX_POLL_MS = 15000;
const SCRUB_STEP_S = 60;

/** A strike row as the API serves it ({strike, gex_vol, gex_oi}) or as the stream carries it
 * ([strike, gex_vol, gex_oi, priors]). */
const strikeRow = (row) =>
  Array.isArray(row) ? { strike: row[0], gex_vol: row[1], gex_oi: row[2] } : row;

/** Fill the GEX panel and keep it current. */
export function startGexPanel() {
  const gex = {
    ticker: $("#gex-ticker").value,
    category: $("#gex-category").value,
    basis: "oi",
    snapshot: null, // the one shown: the live one, or the scrubbed one
    live: null,
    scrubAt: null, // ms of the scrubber, null when live
    symbol: null,
    generation: 0,
  };

  function gexLevels(snapshot) {
    const byOi = gex.basis === "oi";
    return {
      spot: snapshot.spot,
      zero: snapshot.zero_gamma,
      pos: byOi ? snapshot.major_pos_oi : snapshot.major_pos_vol,
      neg: byOi ? snapshot.major_neg_oi : snapshot.major_neg_vol,
      sum: byOi ? snapshot.sum_gex_oi : snapshot.sum_gex_vol,
      // By OI whatever the basis shown; only snapshots computed here have them.
      callWall: snapshot.call_wall,
      putWall: snapshot.put_wall,
    };
  }

  function renderGexLevels(snapshot) {
    const levels = gexLevels(snapshot);
    const item = (cls, label, value) => {
      const box = h("div", { class: cls });
      box.append(h("dt", { text: label }), h("dd", { text: value }));
      return box;
    };
    $("#gex-levels").replaceChildren(
      item("spot", "spot", fmtPrice(levels.spot)),
      item("zero", "zero γ", fmtPrice(levels.zero)),
      item("pos", `+major ${gex.basis}`, fmtPrice(levels.pos)),
      item("neg", `−major ${gex.basis}`, fmtPrice(levels.neg)),
      ...(levels.callWall == null ? [] : [item("call", "call wall OI", fmtPrice(levels.callWall))]),
      ...(levels.putWall == null ? [] : [item("put", "put wall OI", fmtPrice(levels.putWall))]),
      item("", `net GEX ${gex.basis}`, fmtCompact(levels.sum)),
      item("", "DTE", snapshot.min_dte ?? "—"),
      item("", "package", snapshot.package),
      item("", "source", snapshot.source),
    );
  }

  /** Horizontal bars of net GEX per strike around spot, with spot, zero gamma and majors marked. */
  function renderGexProfile(snapshot) {
    const svg = $("#gex-profile");
    const width = svg.clientWidth || 320;
    const height = svg.clientHeight || 300;
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    const column = gex.basis === "oi" ? "gex_oi" : "gex_vol";
    const rows = (snapshot.strikes || [])
      .map(strikeRow)
      .map((row) => ({ strike: Number(row.strike), value: row[column] }))
      .filter((row) => row.value !== null && row.value !== undefined && !Number.isNaN(row.strike));
    svg.replaceChildren();
    svg.dataset.bars = "0";
    if (!rows.length) {
      svg.append(s("text", { x: width / 2, y: height / 2, "text-anchor": "middle" }, `no strikes by ${gex.basis}`));
      return;
    }
    // As many strikes nearest spot as fit at 5 px each, at most 80, highest strike at the top.
    const fit = Math.max(10, Math.min(80, Math.floor((height - 20) / 5)));
    const shown = [...rows]
      .sort((a, b) => Math.abs(a.strike - snapshot.spot) - Math.abs(b.strike - snapshot.spot))
      .slice(0, fit)
      .sort((a, b) => b.strike - a.strike);
    const gaps = shown.slice(1).map((row, i) => shown[i].strike - row.strike).filter((gap) => gap > 0).sort((a, b) => a - b);
    const step = gaps.length ? gaps[Math.floor(gaps.length / 2)] : 1;
    const top = shown[0].strike + step / 2;
    const bottom = shown[shown.length - 1].strike - step / 2;
    const left = 52;
    const right = width - 106;
    const center = (left + right) / 2;
    const y = (price) => 8 + ((top - price) / (top - bottom || 1)) * (height - 16);
    const maxAbs = Math.max(...shown.map((row) => Math.abs(row.value)), 1e-12);
    const half = (right - left) / 2;
    const barHeight = Math.max(1, Math.min(14, Math.abs(y(0) - y(step)) * 0.8));

    svg.append(s("line", { class: "axis", x1: center, x2: center, y1: 4, y2: height - 4 }));
    const labelEvery = Math.max(1, Math.ceil(12 / Math.abs(y(0) - y(step))));
    shown.forEach((row, index) => {
      const length = (Math.abs(row.value) / maxAbs) * half;
      const rect = s("rect", {
        class: row.value >= 0 ? "bar-pos" : "bar-neg",
        x: row.value >= 0 ? center : center - length,
        y: y(row.strike) - barHeight / 2,
        width: Math.max(length, 0.5),
        height: barHeight,
        "data-strike": row.strike,
        "data-value": row.value,
      });
      rect.append(s("title", {}, `${fmtPrice(row.strike)}: ${fmtCompact(row.value)}`));
      svg.append(rect);
      if (index % labelEvery === 0) {
        svg.append(s("text", { x: left - 6, y: y(row.strike) + 3, "text-anchor": "end" }, String(row.strike)));
      }
    });
    svg.dataset.bars = String(shown.length);

    const levels = gexLevels(snapshot);
    const marks = [
      ["spot", "spot", levels.spot],
      ["zero", "zero γ", levels.zero],
      ["pos", "+major", levels.pos],
      ["neg", "−major", levels.neg],
      ["call", "C wall", levels.callWall],
      ["put", "P wall", levels.putWall],
    ];
    const shownMarks = marks.filter(([, , price]) => price !== null && price !== undefined);
    // A level beyond the strikes shown is pinned to the edge with an arrow, never dropped; labels
    // of levels a few points apart (spot and the walls) are spread so that none covers another.
    const lines = shownMarks.map(([, , price]) => Math.min(Math.max(y(price), 6), height - 6));
    const labels = layoutLabels(lines, { height: LABEL_HEIGHT - 2, top: 0, bottom: height });
    shownMarks.forEach(([kind, label, price], i) => {
      const inside = price <= top && price >= bottom;
      const at = lines[i];
      const textY = labels[i] + (LABEL_HEIGHT - 2) / 2;
      const arrow = inside ? "" : price > top ? " ↑" : " ↓";
      const group = s("g", { class: `mark mark-${kind}`, "data-level": kind, "data-price": price });
      group.append(
        s("line", { x1: left, x2: right + 4, y1: at, y2: at }),
        // A short leader from the line to a label moved off it.
        s("line", { class: "leader", x1: right + 4, x2: right + 7, y1: at, y2: textY }),
        s("text", { x: right + 8, y: textY + 3.5 }, `${label} ${fmtPrice(price)}${arrow}`),
      );
      svg.append(group);
    });
  }

  function renderGex() {
    const panel = $("#gex-panel");
    const snapshot = gex.snapshot;
    document.dispatchEvent(new CustomEvent("gex:levels", { detail: { ticker: gex.ticker, category: gex.category, snapshot } }));
    showScrubber();
    if (!snapshot) {
      panel.dataset.state = "empty";
      $("#gex-empty").hidden = false;
      $("#gex-empty-detail").textContent =
        gex.scrubAt === null
          ? `for ${gex.ticker} (${gex.category}). The panel fills in as soon as the first snapshot is recorded.`
          : `for ${gex.ticker} (${gex.category}) at or before ${fmtZoneDateTime(gex.scrubAt)} ${zoneAbbreviation(gex.scrubAt)}.`;
      $("#gex-foot").textContent = "";
      $("#gex-levels").replaceChildren();
      $("#gex-profile").replaceChildren();
      delete panel.dataset.timestamp;
      return;
    }
    panel.dataset.state = "ready";
    $("#gex-empty").hidden = true;
    renderGexLevels(snapshot);
    renderGexProfile(snapshot);
    const at = toMs(snapshot.timestamp);
    panel.dataset.timestamp = String(snapshot.timestamp);
    $("#gex-foot").textContent = `${snapshot.ticker} · ${snapshot.category} · ${fmtZoneClock(at)} ${zoneAbbreviation(at)} (${fmtAge(at)} ago) · units: ${snapshot.units}`;
  }

  function acceptSnapshot(snapshot) {
    if (!snapshot || snapshot.ticker !== gex.ticker || snapshot.category !== gex.category) return;
    if (gex.live && snapshot.timestamp < gex.live.timestamp) return;
    gex.live = snapshot;
    if (gex.scrubAt !== null) return; // the scrubbed snapshot stays until "live"
    gex.snapshot = snapshot;
    renderGex();
  }

  // --- the scrubber: from the trading day's open to now, a minute a step -------------------------

  const scrub = $("#gex-scrub");
  let dayOpenMs = Date.now() - 86400000;

  function showScrubber() {
    if (!scrub) return;
    const now = Date.now();
    scrub.min = String(Math.floor(dayOpenMs / 1000));
    scrub.max = String(Math.floor(now / 1000));
    if (gex.scrubAt === null) scrub.value = scrub.max;
    const box = $("#gex-scrubber");
    box.dataset.state = gex.scrubAt === null ? "live" : "history";
    $("#gex-live").setAttribute("aria-pressed", String(gex.scrubAt === null));
    $("#gex-scrub-time").textContent =
      gex.scrubAt === null ? "live" : `${fmtZoneDateTime(gex.scrubAt)} ${zoneAbbreviation(gex.scrubAt)}`;
  }

  async function loadDayOpen() {
    const symbol = gex.symbol || "ES";
    const now = Date.now();
    const body = await getJSON("sessions", { symbol, start: iso(now - 5 * 86400000), end: iso(now) });
    const days = (body.sessions || []).filter((day) => Date.parse(day.open) <= now);
    // The trading day so far, and at least the last hour (just after the 18:00 open, the close).
    dayOpenMs = Math.min(days.length ? Date.parse(days[days.length - 1].open) : now - 86400000, now - 3600000);
    showScrubber();
  }

  let scrubTimer = 0;
  async function scrubTo(ms) {
    const generation = ++gex.generation;
    gex.scrubAt = ms;
    showScrubber();
    const snapshot = await getJSON("gex/at", { ticker: gex.ticker, category: gex.category, at: iso(ms) }, { missingOk: true });
    if (generation !== gex.generation) return;
    gex.snapshot = snapshot;
    renderGex();
  }
  if (scrub) {
    scrub.step = String(SCRUB_STEP_S);
    scrub.addEventListener("input", () => {
      clearTimeout(scrubTimer);
      const ms = Number(scrub.value) * 1000;
      // Within a step of now is live again.
      if (ms >= Date.now() - SCRUB_STEP_S * 1000) {
        goLive();
        return;
      }
      scrubTimer = setTimeout(() => scrubTo(ms).then(() => recovered("GEX history"), (error) => report("GEX history", error)), 120);
    });
    $("#gex-live").addEventListener("click", goLive);
  }

  function goLive() {
    clearTimeout(scrubTimer);
    gex.generation += 1;
    gex.scrubAt = null;
    gex.snapshot = gex.live;
    renderGex();
  }

  const gexSocket = new TopicSocket("gex", {
    onEvents: (ticker, events) => {
      if (ticker !== gex.ticker) return;
      for (const event of events) acceptSnapshot(event);
    },
    onState: (state, detail) => showSocketState($("#gex-socket"), "gex", state, detail),
  }).start();

  async function loadGex() {
    const generation = ++gex.generation;
    const snapshot = await getJSON("gex/latest", { ticker: gex.ticker, category: gex.category }, { missingOk: true });
    if (generation !== gex.generation) return;
    acceptSnapshot(snapshot);
    if (gex.scrubAt === null) renderGex();
  }

  function reloadGex() {
    const scrubbed = gex.scrubAt;
    gex.snapshot = null;
    gex.live = null;
    if (scrubbed !== null) {
      scrubTo(scrubbed).catch((error) => report("GEX history", error));
      gexSocket.want([gex.ticker], { [gex.ticker]: null });
      return;
    }
    $("#gex-panel").dataset.state = "loading";
    gexSocket.want([gex.ticker], { [gex.ticker]: null });
    loadGex().then(
      () => recovered("GEX"),
      (error) => report("GEX", error),
    );
  }

  $("#gex-ticker").addEventListener("change", (event) => {
    gex.ticker = event.target.value;
    reloadGex();
  });
  // The chart's symbol picks the GEX ticker its levels come from.
  document.addEventListener("dashboard:symbol", (event) => {
    gex.symbol = event.detail.alias || event.detail.symbol;
    loadDayOpen().catch((error) => report("GEX history", error));
    const mapped = gexFor(event.detail.root);
    if (!mapped || mapped.ticker === gex.ticker) {
      renderGex();
      return;
    }
    $("#gex-ticker").value = mapped.ticker;
    gex.ticker = mapped.ticker;
    reloadGex();
  });
  document.addEventListener("dashboard:timezone", () => renderGex());
  $("#gex-category").addEventListener("change", (event) => {
    gex.category = event.target.value;
    reloadGex();
  });
  $("#gex-basis").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-basis]");
    if (!button) return;
    pressOne($("#gex-basis"), button);
    gex.basis = button.dataset.basis;
    renderGex();
  });
  new ResizeObserver(() => gex.snapshot && renderGexProfile(gex.snapshot)).observe($("#gex-body"));

  reloadGex();
  every(GEX_POLL_MS, "GEX", async () => {
    if (gexSocket.state !== "live" || !gex.live) await loadGex();
  });
  // Ages ("3s ago") move even when nothing new arrives.
  setInterval(() => (gex.snapshot ? renderGex() : showScrubber()), 5000);
  return { gex, gexSocket };
}
