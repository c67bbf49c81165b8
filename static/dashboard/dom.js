/* Building DOM and SVG nodes. */

export const $ = (selector) => document.querySelector(selector);

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    // Through the CSSOM: a style attribute would be inline style, which the Content-Security-Policy refuses.
    else if (name === "style") node.style.cssText = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) node.append(child);
  return node;
}

const SVG_NS = "http://www.w3.org/2000/svg";
export function s(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Mark `button` as the pressed one of a segmented control. */
export function pressOne(group, button) {
  for (const other of group.querySelectorAll("button")) other.setAttribute("aria-pressed", String(other === button));
}
