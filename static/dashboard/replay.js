/* Replay mode. `/?replay=<id>` shows that replay's sandbox instead of the live data: the id is read
 * once here, api.js adds it to every /api call and topic_socket.js to every /ws URL, the chart's
 * "now" is the replay's clock (a replay of 20 November shows 20 November), and a badge says so.
 * Without it nothing changes: live. An id the server refuses shows its error in the banner. */

const given = new URLSearchParams(location.search).get("replay");
export const REPLAY = given ? given : null;

let clockMs = null;

function badge(text, state) {
  const element = document.getElementById("replay-badge");
  if (!element) return;
  element.textContent = text;
  element.dataset.state = state;
  element.hidden = false;
}

async function poll() {
  let body = {};
  let ok = false;
  try {
    const response = await fetch(`/api/replays/${encodeURIComponent(REPLAY)}`, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    ok = response.ok;
    body = await response.json().catch(() => ({}));
  } catch (error) {
    badge(`REPLAY ${REPLAY} · server unreachable`, "error");
    return;
  }
  if (!ok) {
    const detail = typeof body.detail === "string" ? body.detail : "refused";
    badge(`REPLAY ${REPLAY} · ${detail}`, "error");
    return;
  }
  if (body.clock) clockMs = Date.parse(body.clock);
  const clock = body.clock ? body.clock.replace("T", " ").replace(/\.\d+Z$|Z$/, " UTC") : "not started";
  badge(`REPLAY ${REPLAY} · ${body.state} · ${clock}`, body.state);
}

if (REPLAY) {
  document.title = `data-pipeline · replay ${REPLAY}`;
  badge(`REPLAY ${REPLAY}`, "loading");
  await poll(); // the chart's first request already stands on the replay's clock
  setInterval(poll, 2000);
}

/** "Now" for the chart's ranges: the replay's clock in a replay, the wall clock live. */
export function now() {
  return REPLAY && clockMs !== null ? clockMs : Date.now();
}

/** `?replay=<id>` for a WebSocket URL ("" live). */
export function replaySuffix() {
  return REPLAY ? `?replay=${encodeURIComponent(REPLAY)}` : "";
}
