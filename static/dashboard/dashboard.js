/* The live dashboard's entry point (a module: no build step). It reads the REST API (/api/) for
 * initial state and status and the WebSocket topics (/ws/trades, /ws/gex) for live data, with the
 * browser's session; lightweight-charts is served from static/vendor/, nothing from outside.
 */

import { startDepthPanel } from "./depth_panel.js";
import { startGexPanel } from "./gex_panel.js";
import { startPriceChart } from "./price_chart.js";
import { startStatusPanels } from "./status_panels.js";

const price = startPriceChart();
const gex = startGexPanel();
startStatusPanels();
const depth = startDepthPanel({ symbolOf: () => price.market.symbol });

// For the browser test and for poking at from the console.
window.dashboard = { ...price, ...gex, depth };
