/* Tick sizes of the CME index futures the platform knows (apps/marketdata/symbols.py ROOTS); any
 * other symbol gets cents. The one copy of the table: the price chart's axis and the depth panel
 * both read it. */

const TICK_SIZES = { ES: 0.25, MES: 0.25, NQ: 0.25, MNQ: 0.25, RTY: 0.1, M2K: 0.1, YM: 1, MYM: 1 };
const CONTRACT = /^([A-Z0-9]+?)[FGHJKMNQUVXZ]\d{1,2}$/;

/** The futures root of a contract (ESZ26 -> ES); anything else is returned as it is. */
export function rootOf(symbol) {
  return ((symbol || "").match(CONTRACT) || [])[1] || symbol;
}

export function tickSize(symbol) {
  const root = ((symbol || "").match(CONTRACT) || [])[1];
  return TICK_SIZES[root] ?? 0.01;
}
