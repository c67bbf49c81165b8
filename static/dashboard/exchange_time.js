/* The time zone the dashboard shows times in: the exchange's (New York by default, or Chicago,
 * CME's own) or the browser's, picked in the top bar and remembered. Everything that prints a
 * time (the chart's axis and crosshair, the GEX panel, the scrubber) formats through here and
 * redraws on a change ("dashboard:timezone" on document).
 */

import { $ } from "./dom.js";

export const ZONES = { "America/New_York": "New York", "America/Chicago": "Chicago", browser: "browser" };
const STORAGE_KEY = "dashboard.tz";

let zone = ZONES[localStorage.getItem(STORAGE_KEY)] ? localStorage.getItem(STORAGE_KEY) : "America/New_York";

/** The IANA zone in force ("browser" resolved to the browser's own). */
export function timeZone() {
  return zone === "browser" ? Intl.DateTimeFormat().resolvedOptions().timeZone : zone;
}

/** A short name of the zone in force at `ms` ("EST", "CDT", "GMT+1"). */
export function zoneAbbreviation(ms = Date.now()) {
  const part = new Intl.DateTimeFormat("en-US", { timeZone: timeZone(), timeZoneName: "short" })
    .formatToParts(new Date(ms))
    .find((item) => item.type === "timeZoneName");
  return part ? part.value : "";
}

const formatters = new Map();
function formatter(options) {
  const key = `${timeZone()}|${JSON.stringify(options)}`;
  if (!formatters.has(key)) formatters.set(key, new Intl.DateTimeFormat("en-GB", { timeZone: timeZone(), hourCycle: "h23", ...options }));
  return formatters.get(key);
}

/** "14:03:07" in the zone in force. */
export const fmtZoneClock = (ms, { seconds = true } = {}) =>
  ms === null || ms === undefined
    ? "—"
    : formatter({ hour: "2-digit", minute: "2-digit", ...(seconds ? { second: "2-digit" } : {}) }).format(new Date(ms));

/** "Thu 03 Dec 14:03:07" in the zone in force. */
export const fmtZoneDateTime = (ms) =>
  formatter({ weekday: "short", day: "2-digit", month: "short", hour: "2-digit", minute: "2-digit", second: "2-digit" }).format(new Date(ms));

/** "Thu 03 Dec" in the zone in force. */
export const fmtZoneDay = (ms) => formatter({ weekday: "short", day: "2-digit", month: "short" }).format(new Date(ms));

/** Lightweight Charts' tick mark formatter: UTC seconds and a TickMarkType (0 year ... 4 seconds). */
export function tickMark(time, type) {
  const ms = time * 1000;
  if (type === 0) return formatter({ year: "numeric" }).format(new Date(ms));
  if (type === 1) return formatter({ month: "short" }).format(new Date(ms));
  if (type === 2) return fmtZoneDay(ms);
  return fmtZoneClock(ms, { seconds: type === 4 });
}

/** Fill the picker in #tz-picker and announce changes. */
export function startTimeZonePicker() {
  const picker = $("#tz-picker");
  if (!picker) return;
  picker.value = zone;
  const show = () => {
    picker.title = `times shown in ${timeZone()} (${zoneAbbreviation()})`;
    document.documentElement.dataset.timeZone = timeZone();
    const note = $("#tz-note");
    if (note) note.textContent = `Times in ${ZONES[zone] === "browser" ? "your browser's time zone" : `${ZONES[zone]} time`} (${timeZone()}).`;
  };
  show();
  picker.addEventListener("change", () => {
    zone = ZONES[picker.value] ? picker.value : "America/New_York";
    localStorage.setItem(STORAGE_KEY, zone);
    show();
    document.dispatchEvent(new CustomEvent("dashboard:timezone", { detail: { zone: timeZone() } }));
  });
}
