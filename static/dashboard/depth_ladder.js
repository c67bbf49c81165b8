/* The DOM ladder: one row per price tick around the market, with the resting size on each side,
 * the volume traded at that price in the last minute (sold at the bid on the left, bought at the
 * ask on the right), the session's volume at the price as a bar, and the last trade marked.
 *
 * Rows are built once; a draw writes only the cells whose value changed, and the ladder
 * re-centres only when the inside market leaves its middle third, so it does not jitter.
 */

import { h } from "./dom.js";
import { fmtInt, fmtPrice } from "./format.js";

const ROWS = 41;
// Re-centre when the inside market leaves the middle third, so it stays in the scrolled box's view.
const MARGIN = Math.floor(ROWS / 3);

export const roundPrice = (value) => Math.round(value * 100) / 100;

export class Ladder {
  constructor(table) {
    this.table = table;
    this.tick = 0.25;
    this.center = null;
    this.rows = [];
    const body = h("tbody");
    for (let index = 0; index < ROWS; index += 1) {
      const cells = {
        sold: h("td", { class: "sold num" }),
        bid: h("td", { class: "bid num" }),
        price: h("td", { class: "px num" }),
        ask: h("td", { class: "ask num" }),
        bought: h("td", { class: "bought num" }),
        bar: h("i", { class: "vbar" }),
        vol: h("b"),
      };
      const volume = h("td", { class: "vol num" }, cells.bar, cells.vol);
      const row = h("tr", {}, cells.sold, cells.bid, cells.price, cells.ask, cells.bought, volume);
      // Last written values, so a draw touches only what changed.
      this.rows.push({ row, cells, price: null, bid: null, ask: null, sold: null, bought: null, vol: null, width: null, mark: "" });
      body.append(row);
    }
    table.append(
      h(
        "thead",
        {},
        h("tr", {}, ...["sold", "bid", "price", "ask", "bought", "session vol"].map((text) => h("th", { text }))),
      ),
      body,
    );
  }

  setTick(tick) {
    this.tick = tick;
    this.center = null;
  }

  /** Keep the inside market within the middle third of the rows. */
  recenter(book) {
    const bid = book.bestBid();
    const ask = book.bestAsk();
    const inside = bid !== null && ask !== null ? (bid + ask) / 2 : bid ?? ask;
    if (inside === null) return false;
    const half = Math.floor(ROWS / 2);
    if (this.center !== null) {
      const top = this.center + (half - MARGIN) * this.tick;
      const bottom = this.center - (half - MARGIN) * this.tick;
      if ((bid === null || (bid <= top && bid >= bottom)) && (ask === null || (ask <= top && ask >= bottom))) return false;
    }
    this.center = roundPrice(Math.round(inside / this.tick) * this.tick);
    this.rows.forEach((item, index) => {
      item.price = roundPrice(this.center + (half - index) * this.tick);
      item.row.dataset.price = String(item.price);
      item.cells.price.textContent = fmtPrice(item.price);
    });
    // Bring the inside market to the middle of the scrolled box (one layout read, on re-centring only).
    const box = this.table.parentElement;
    const middle = this.rows[half].row;
    if (box) box.scrollTop = Math.max(0, middle.offsetTop - box.clientHeight / 2);
    return true;
  }

  draw(book, profile) {
    const moved = this.recenter(book);
    if (this.center === null) return;
    const bestBid = book.bestBid();
    const bestAsk = book.bestAsk();
    const last = profile.lastTrade;
    const maxVolume = profile.maxVolume || 1;
    for (const item of this.rows) {
      const { price, cells, row } = item;
      const bid = book.bids.get(price) ?? null;
      const ask = book.asks.get(price) ?? null;
      if (bid !== item.bid) {
        item.bid = bid;
        cells.bid.textContent = bid === null ? "" : fmtInt(bid);
        row.dataset.bid = bid === null ? "" : String(bid);
      }
      if (ask !== item.ask) {
        item.ask = ask;
        cells.ask.textContent = ask === null ? "" : fmtInt(ask);
        row.dataset.ask = ask === null ? "" : String(ask);
      }
      const recent = profile.recentByPrice.get(price);
      const sold = recent && recent.sell > 0 ? recent.sell : null;
      const bought = recent && recent.buy > 0 ? recent.buy : null;
      if (sold !== item.sold) {
        item.sold = sold;
        cells.sold.textContent = sold === null ? "" : fmtInt(sold);
      }
      if (bought !== item.bought) {
        item.bought = bought;
        cells.bought.textContent = bought === null ? "" : fmtInt(bought);
      }
      const level = profile.byPrice.get(price);
      const vol = level ? level.volume : null;
      if (vol !== item.vol || moved) {
        item.vol = vol;
        cells.vol.textContent = vol === null ? "" : fmtInt(vol);
      }
      const width = vol === null ? 0 : Math.round((vol / maxVolume) * 100);
      if (width !== item.width) {
        item.width = width;
        cells.bar.style.width = `${width}%`;
      }
      const mark =
        (price === bestBid ? " best-bid" : "") +
        (price === bestAsk ? " best-ask" : "") +
        (last && price === last.price ? ` last last-${last.side}` : "");
      if (mark !== item.mark) {
        item.mark = mark;
        row.className = mark.trim();
      }
    }
  }
}
