/* The REST API, polling, and the banner that lists what is failing right now. */

import { $, h } from "./dom.js";
import { REPLAY } from "./replay.js";

const API = document.getElementById("dashboard").dataset.apiBase;

// One line per failing source; a source's line goes when it recovers.

const problems = new Map();
function renderBanner() {
  const banner = $("#banner");
  const list = banner.querySelector("ul");
  list.replaceChildren(...[...problems.values()].map((text) => h("li", { text })));
  banner.hidden = problems.size === 0;
}
export function report(source, error) {
  const text = `${source}: ${error instanceof Error ? error.message : String(error)}`;
  if (problems.get(source) !== text) {
    problems.set(source, text);
    renderBanner();
  }
}
export function recovered(source) {
  if (problems.delete(source)) renderBanner();
}

class HttpError extends Error {}

/** GET a JSON document from the API; null for a 404 when `missingOk`. */
export async function getJSON(path, params = {}, { missingOk = false, base = API } = {}) {
  const url = new URL(base + path, location.origin);
  if (REPLAY && base === API) url.searchParams.set("replay", REPLAY);
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  let response;
  try {
    response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  } catch (error) {
    throw new HttpError(`cannot reach the server (${error.message})`);
  }
  const type = response.headers.get("content-type") || "";
  // The API answers "nothing there" with a JSON 404; an HTML 404 means the endpoint is missing.
  if (missingOk && response.status === 404 && type.includes("json")) return null;
  if (response.status === 401 || response.status === 403 || new URL(response.url).pathname.startsWith("/admin/login")) {
    throw new HttpError(`HTTP ${response.status}: the session has ended, reload the page to sign in`);
  }
  if (!type.includes("json")) {
    throw new HttpError(`HTTP ${response.status}${response.status === 404 ? ", no such endpoint" : ", not JSON"}`);
  }
  const body = await response.json();
  if (!response.ok && !body.checks) {
    const reason = body.detail || body.error || body.message || "";
    throw new HttpError(`HTTP ${response.status}${reason ? ` ${typeof reason === "string" ? reason : JSON.stringify(reason)}` : ""}`);
  }
  return body;
}

/** Run `task` now and again `ms` after each run ends; failures go to the banner under `source`
 * and to `onError` (a panel marks itself unavailable rather than staying on "loading…"). */
export function every(ms, source, task, onError = () => {}) {
  const run = async () => {
    try {
      await task();
      recovered(source);
    } catch (error) {
      report(source, error);
      onError(error);
    }
    setTimeout(run, ms);
  };
  run();
}

/** A panel still showing its "loading…" placeholder says the data is unavailable instead. */
export function placeholderUnavailable(selector) {
  return () => {
    const placeholder = document.querySelector(`${selector} .placeholder`);
    if (placeholder) (placeholder.querySelector("td") || placeholder).textContent = "unavailable";
  };
}
