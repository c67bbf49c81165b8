/* The live dashboard's entry point (a module: no build step). It reads the REST API (/api/) for
 * initial state and status and the WebSocket topics (/ws/trades, /ws/gex) for live data, with the
 * browser's session; lightweight-charts is served from static/vendor/, nothing from outside.
 */

import { startDepthPanel } from "./depth_panel.js";
import { startTimeZonePicker } from "./exchange_time.js";
import { startGexPanel } from "./gex_panel.js";
import { startPriceChart } from "./price_chart.js";
import { startStatusPanels } from "./status_panels.js";

startTimeZonePicker();
// The GEX panel first: it listens for the chart's symbol.
const gex = startGexPanel();
const price = startPriceChart();
startStatusPanels();
const depth = startDepthPanel({ symbolOf: () => price.market.symbol });

// For the browser test and for poking at from the console.
window.dashboard = { ...price, ...gex, depth };
