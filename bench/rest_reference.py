"""The reference of bench/rest_concurrency.py: a bare ASGI application that answers
`GET /api/ticks/last?symbol=...&count=...` from the same Redis data with the same JSON as the
platform's endpoint, with nothing else: no framework, no authentication, no middleware, no
validation. It reads the stream as the selector does (a few newest blocks at a time) and decodes
the blocks with the same codec, so the difference to the platform is what the web stack costs.

    uvicorn bench.rest_reference:app   (REDIS_URL in the environment)
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import orjson
import redis.asyncio

from apps.core import keys
from apps.marketdata.blocks import decode_trades

_client = redis.asyncio.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/12"))


async def _trades(symbol: str, count: int) -> list[dict[str, Any]]:
    collected: list[tuple[str, Any]] = []
    high = "+"
    while len(collected) < count:
        entries: list[tuple[bytes, dict[bytes, bytes]]] = await _client.xrevrange(
            keys.trades(symbol), max=high, min="-", count=4
        )  # type: ignore[assignment]  # redis-py's stubs allow str and None: a bytes client answers bytes
        if not entries:
            break
        for entry_id, fields in entries:
            stream_id = entry_id.decode()
            block = decode_trades(symbol, fields[b"d"])
            collected = [(f"{stream_id}:{index}", trade) for index, trade in enumerate(block)] + collected
            if len(collected) >= count:
                break
        high = f"({entries[-1][0].decode()}"
    return [
        {
            "id": item_id,
            "ts_event": trade.ts_event,
            "time": datetime.fromtimestamp(trade.ts_event / 1e9, tz=UTC),
            "price": trade.price,
            "size": trade.size,
            "side": trade.side.name.lower(),
            "feed": trade.feed,
        }
        for item_id, trade in collected[-count:]
    ]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    query = parse_qs(scope["query_string"].decode())
    symbol, count = query["symbol"][0], int(query.get("count", ["100"])[0])
    body = orjson.dumps({"symbol": symbol, "trades": await _trades(symbol, count)}, option=orjson.OPT_UTC_Z)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
