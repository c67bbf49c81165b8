"""Last trades and bars are rendered without validating them against their response model again
(render.json_answer): each answer must be exactly what validating it would give, byte for byte —
the same fields in the model's order with its types. Checked as a fixed point: the answer, read
back, validated by the response model and rendered as ninja renders, is the same bytes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
import time_machine
from pydantic import BaseModel

from apps.api.render import JSON_CONTENT_TYPE, ORJSONRenderer
from apps.api.schemas import BarsOut, TradesLastOut
from apps.core.redis import get_redis
from apps.storage.flush import streams_flush
from tests.apps.api.conftest import Caller
from tests.apps.api.helpers import trade, write

NOW = "2026-11-24T15:30:00Z"  # an hour after tests/factories.py's T0


def assert_fixed_point(response: Any, model: type[BaseModel]) -> dict[str, Any]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == JSON_CONTENT_TYPE == "application/json; charset=utf-8"
    validated = model.model_validate(orjson.loads(response.content)).model_dump()
    assert ORJSONRenderer().render(None, validated, response_status=200) == response.content  # type: ignore[arg-type]
    return orjson.loads(response.content)


def test_last_trades_are_answered_as_validation_would_answer_them(reader: Caller) -> None:
    # Whole-number prices (a float answered as 6000.0, not 6000), sides, several blocks.
    write(
        [[trade(i, 6000 + i * 0.25, size=1 + i, seq=i) for i in range(start, start + 7)] for start in range(0, 21, 7)]
    )
    with time_machine.travel(NOW, tick=False):
        for count in (1, 5, 100):
            body = assert_fixed_point(reader.get("/api/ticks/last", symbol="esz26", count=count), TradesLastOut)
            assert len(body["trades"]) == min(count, 21)
        assert body["trades"][0]["price"] == 6000.0
        assert b'"price":6000.0,' in reader.get("/api/ticks/last", symbol="ESZ26").content
        empty = assert_fixed_point(reader.get("/api/ticks/last", symbol="NQZ26"), TradesLastOut)
    assert empty == {"symbol": "NQZ26", "trades": []}


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"interval": "1s"},
        {"interval": "5m", "session": "rth"},
        {"start": "2026-11-24T16:00:00+02:00", "end": "2026-11-24T17:00:00.5+02:00"},
        {"start": "2026-11-24T14:00:00Z", "end": "2026-11-24T15:00:00Z", "interval": "15s"},
        {"start": "2026-11-20T00:00:00Z", "end": "2026-11-21T00:00:00Z"},  # nothing there
    ],
)
def test_bars_from_the_lake_and_the_hot_store_are_answered_as_validation_would_answer_them(
    reader: Caller, lake: Path, params: dict[str, str]
) -> None:
    write(
        [
            [trade(i * 13.5, 6000 + i % 11 * 0.25, size=1 + i % 4, seq=i) for i in range(start, start + 20)]
            for start in range(0, 200, 20)
        ]
    )
    streams_flush(client=get_redis(), lake=lake)  # the older trades in the lake, the rest hot
    write([[trade(2800 + i, 6001 + i * 0.5, seq=1000 + i) for i in range(10)]])
    with time_machine.travel(NOW, tick=False):
        body = assert_fixed_point(reader.get("/api/bars", symbol="ESZ26", **params), BarsOut)
    if "2026-11-20" not in params.get("start", ""):
        assert body["bars"], "bars answered"
        assert all(isinstance(bar["open"], float) for bar in body["bars"])


def test_bars_of_a_closed_lake_day_are_answered_as_validation_would_answer_them(reader: Caller, lake: Path) -> None:
    write([[trade(i * 60, 6000.0 + i, size=2, seq=i) for i in range(30)]])
    streams_flush(client=get_redis(), lake=lake)
    with time_machine.travel("2026-11-26T12:00:00Z", tick=False):  # a closed day: remembered per process
        for _ in range(2):
            body = assert_fixed_point(
                reader.get("/api/bars", symbol="ESZ26", start="2026-11-24T00:00:00Z", end="2026-11-25T00:00:00Z"),
                BarsOut,
            )
    assert [bar["close"] for bar in body["bars"]][:3] == [6000.0, 6001.0, 6002.0]
