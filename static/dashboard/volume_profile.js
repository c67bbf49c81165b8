/* Volume by price and VWAP of the session, and the trades of the last minute at each price.
 *
 * The session's figures come from the server (/api/profile: lake and hot store, each trade once);
 * the trades /ws/trades sends after the last one it counted (`through`) are added here with the
 * same arithmetic, so the VWAP shown is the one the REST API would give a moment later.
 */

export const RECENT_MS = 60_000;

export class VolumeProfile {
  constructor() {
    this.reset();
  }

  reset() {
    this.byPrice = new Map(); // price -> {volume, buy, sell}
    this.volume = 0;
    this.notional = 0;
    this.trades = 0;
    this.maxVolume = 0;
    this.recent = []; // [ms, price, size, side] of the last RECENT_MS, oldest first
    this.recentByPrice = new Map(); // price -> {buy, sell}
    this.lastTrade = null; // {price, size, side, ms}
    this.start = null;
    this.version = 0;
  }

  load(body) {
    this.reset();
    for (const level of body.levels) {
      this.byPrice.set(level.price, { volume: level.volume, buy: level.buy, sell: level.sell });
      this.notional += level.price * level.volume;
      this.maxVolume = Math.max(this.maxVolume, level.volume);
    }
    this.volume = body.volume;
    this.trades = body.trades;
    this.start = body.start; // the range the server counted (the session's open by default)
    this.version += 1;
  }

  get vwap() {
    return this.volume ? this.notional / this.volume : null;
  }

  /** Trades of /ws/trades (or /api/ticks for the last minute, with `session` false). */
  add(trades, { session = true } = {}) {
    for (const trade of trades) {
      const price = Number(trade.price);
      const size = Number(trade.size) || 0;
      const ms = trade.ts_event / 1e6;
      if (session) {
        let level = this.byPrice.get(price);
        if (!level) {
          level = { volume: 0, buy: 0, sell: 0 };
          this.byPrice.set(price, level);
        }
        level.volume += size;
        if (trade.side === "buy") level.buy += size;
        else if (trade.side === "sell") level.sell += size;
        this.maxVolume = Math.max(this.maxVolume, level.volume);
        this.volume += size;
        this.notional += price * size;
        this.trades += 1;
      }
      this.recent.push([ms, price, size, trade.side]);
      let recent = this.recentByPrice.get(price);
      if (!recent) {
        recent = { buy: 0, sell: 0 };
        this.recentByPrice.set(price, recent);
      }
      if (trade.side === "buy") recent.buy += size;
      else if (trade.side === "sell") recent.sell += size;
      this.lastTrade = { price, size, side: trade.side, ms };
    }
    if (trades.length) this.version += 1;
  }

  /** Forget the trades older than RECENT_MS before `nowMs` (by exchange time). */
  expire(nowMs) {
    let drop = 0;
    while (drop < this.recent.length && this.recent[drop][0] < nowMs - RECENT_MS) {
      const [, price, size, side] = this.recent[drop];
      const recent = this.recentByPrice.get(price);
      if (side === "buy") recent.buy -= size;
      else if (side === "sell") recent.sell -= size;
      if (recent.buy <= 0 && recent.sell <= 0) this.recentByPrice.delete(price);
      drop += 1;
    }
    if (drop) {
      this.recent.splice(0, drop);
      this.version += 1;
    }
  }
}
