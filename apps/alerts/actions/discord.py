"""The Discord action: the message, and the route it takes. Issue 16's bot registers a route
(`discord_route_register`) that sends to a channel id through its gateway session; until then, or
for a rule that gives only a webhook URL, the channel's webhook carries it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apps.alerts.action_specs import DiscordAction
from apps.alerts.actions import Outcome
from apps.alerts.actions.http import post_discord
from apps.core.codec import dumps

MAX_CONTENT = 2000
DiscordRoute = Callable[[str, str], Outcome]  # (channel id, content) -> outcome
_routes: dict[str, DiscordRoute] = {}


def discord_route_register(route: DiscordRoute | None) -> None:
    """Install (or with None remove) the bot's route for rules that name a `channel_id`."""
    if route is None:
        _routes.pop("bot", None)
    else:
        _routes["bot"] = route


def discord_content(alert: dict[str, Any]) -> str:
    item = alert["input"]
    parts = [f"**{alert['rule']}** {alert['symbol']} at {alert['event_time']}"]
    names = ("option_symbol", "option_chain", "premium", "total_premium", "price", "size", "spot", "zero_gamma")
    parts.extend(f"{name}={item[name]}" for name in names if item.get(name) not in (None, ""))
    if alert.get("test"):
        parts.append("(test)")
    return " ".join(parts)[:MAX_CONTENT]


def discord_send(*, action: DiscordAction, alert: dict[str, Any]) -> Outcome:
    content = discord_content(alert)
    route = _routes.get("bot")
    if action.channel_id and route is not None:
        return route(action.channel_id, content)
    if action.webhook_url is None:
        return Outcome(ok=False, error="no bot route is running and the action has no webhook_url")
    payload = dumps({"content": content, "allowed_mentions": {"parse": []}})
    return post_discord(url=action.webhook_url.get_secret_value(), payload=payload)
