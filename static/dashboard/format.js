/* Numbers, times and stream positions as the dashboard shows and compares them. */

const priceFormat = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const intFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const compactFormat = new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 2 });
export const fmtPrice = (value) => (value === null || value === undefined || Number.isNaN(value) ? "—" : priceFormat.format(value));
export const fmtInt = (value) => (value === null || value === undefined || value === "" ? "—" : intFormat.format(Number(value)));
export const fmtCompact = (value) => (value === null || value === undefined ? "—" : compactFormat.format(value));

/** Milliseconds since the epoch from an ISO string or a number in s, ms or ns; null when absent. */
export function toMs(value) {
  if (value === null || value === undefined || value === "") return null;
  const number = typeof value === "number" ? value : Number(value);
  if (!Number.isNaN(number)) {
    if (number > 1e17) return number / 1e6;
    if (number > 1e11) return number;
    return number * 1000;
  }
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? null : parsed;
}

export function fmtAge(ms) {
  if (ms === null) return "—";
  const seconds = Math.max(0, (Date.now() - ms) / 1000);
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, "0")}`;
  return `${Math.floor(seconds / 86400)}d`;
}

export const fmtClock = (ms) => (ms === null ? "—" : new Date(ms).toLocaleTimeString(undefined, { hour12: false }));
export const iso = (ms) => new Date(ms).toISOString();

/** Stream positions `<ms>-<seq>` or `<ms>-<seq>:<index>` compared in stream order. */
export function compareIds(a, b) {
  const pa = a.split(/[-:]/).map(Number);
  const pb = b.split(/[-:]/).map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i += 1) {
    const diff = (pa[i] ?? -1) - (pb[i] ?? -1);
    if (diff !== 0) return diff;
  }
  return 0;
}
