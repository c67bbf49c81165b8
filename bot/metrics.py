"""The bot's Prometheus metrics (served on its own /metrics port by run_bot)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

CONNECTED = Gauge("bot_connected", "1 while the bot holds a Discord gateway connection")
DISCONNECTS = Counter("bot_disconnects_total", "Discord gateway disconnects")
COMMANDS = Counter("bot_commands_total", "Commands handled by cog and outcome", ["cog", "outcome"])
