/* Tick sizes of the CME index futures the platform knows (apps/marketdata/symbols.py ROOTS); any
 * other symbol gets cents. The same table as price_chart.js's axis steps. */

const TICK_SIZES = { ES: 0.25, MES: 0.25, NQ: 0.25, MNQ: 0.25, RTY: 0.1, M2K: 0.1, YM: 1, MYM: 1 };

export function tickSize(symbol) {
  const root = ((symbol || "").match(/^([A-Z0-9]+?)[FGHJKMNQUVXZ]\d{1,2}$/) || [])[1];
  return TICK_SIZES[root] ?? 0.01;
}
