/* Which GEX ticker's levels belong to a futures root (ES -> ES_SPX), as the server decided from
 * what this configuration offers (apps/gex/offered.py), in the page as JSON. */

let mapping = null;

/** {ticker, index} for a futures root, or null when no offered GEX ticker maps to it. */
export function gexFor(root) {
  if (mapping === null) {
    const node = document.getElementById("gex-for-futures");
    mapping = node ? JSON.parse(node.textContent) : {};
  }
  return mapping[root] || null;
}
