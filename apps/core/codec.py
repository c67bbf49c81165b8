"""Fast JSON for the hot path and for Redis payloads (orjson: bytes out, UTC datetimes as ISO)."""

from __future__ import annotations

from typing import Any

import orjson


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS)


def loads(data: bytes | str) -> Any:
    return orjson.loads(data)


DecodeError = orjson.JSONDecodeError


def text(value: Any) -> str:
    """A Redis reply (bytes, or str with decode_responses) as str."""
    return value.decode() if isinstance(value, bytes) else str(value)
