"""Status endpoints: streamers, the lake flush, Celery queues and recent alerts."""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.core import keys
from apps.core.redis import get_redis
from apps.core.services import runtime_setting_update
from apps.storage.flush import streams_flush
from apps.storage.tasks import flush_streams
from tests.apps.api.conftest import Caller
from tests.apps.api.helpers import trade, write

pytestmark = pytest.mark.django_db


def test_streamers_known_configured_and_running_are_listed(reader: Caller) -> None:
    get_redis().hset(
        keys.streamer("simulator"),
        mapping={
            "state": "connected",
            "connected_since": "1795530600.5",
            "last_message_ms": "1795530660250",
            "messages_per_second": "120.5",
            "reconnects": "2",
            "gaps": "1",
            "store_outages": "3",
            "updated_at": "2026-11-24T14:31:00+00:00",
        },
    )
    get_redis().hset(keys.streamer("uw"), mapping={"state": "reconnecting", "reconnects": "7"})
    runtime_setting_update(key="marketdata.disabled_streamers", value=["schwab"])
    rows = {row["name"]: row for row in reader.get("/api/status/streamers").json()}
    assert rows["simulator"] == {
        "name": "simulator",
        "state": "connected",
        "enabled": True,
        "connected_since": "2026-11-24T14:30:00.500000Z",
        "last_message": "2026-11-24T14:31:00.250000Z",
        "rate": 120.5,
        "reconnects": 2,
        "gaps": 1,
        "store_outages": 3,
        "store_down_since": None,
        "updated_at": "2026-11-24T14:31:00Z",
    }
    assert (rows["uw"]["state"], rows["uw"]["reconnects"]) == ("reconnecting", 7)
    assert (rows["schwab"]["state"], rows["schwab"]["enabled"]) == ("disabled", False)
    assert rows["replay"]["state"] == "not_running"


def test_flush_status_shows_each_stream_checkpoint(reader: Caller, lake: Path) -> None:
    write([[trade(1, 6000.0), trade(2, 6000.25)]])
    write([[trade(3, 6000.5, symbol="NQZ26")]])
    streams_flush(client=get_redis(), lake=lake)
    write([[trade(4, 6001.0)]])
    rows = {row["stream"]: row for row in reader.get("/api/status/flush").json()}
    es = rows["md:trades:{ESZ26}"]
    assert es["rows"] == 2
    assert es["last_id"]
    assert es["at"].endswith("Z")
    assert es["lag_entries"] == 1
    assert rows["md:trades:{NQZ26}"]["lag_entries"] == 0


def test_queue_depths_count_every_priority_list(reader: Caller) -> None:
    flush_streams.delay()
    flush_streams.apply_async(priority=9)
    depths = {row["queue"]: row["depth"] for row in reader.get("/api/status/queues").json()}
    assert depths == {"default": 0, "gex": 0, "flush": 2, "alerts": 0, "batch": 0}
    assert len(get_redis().keys("flush*")) == 2, "one list per priority step"


def test_recent_alerts_newest_first(reader: Caller) -> None:
    assert reader.get("/api/alerts/recent").json() == []
    client = get_redis()
    client.xadd(
        keys.ALERTS_FIRED,
        {"rule": "es-above", "symbol": "ESZ26", "message": "ES above 6000", "time": "2026-11-24T14:30:00Z"},
    )
    client.xadd(keys.ALERTS_FIRED, {"rule": "gex-flip", "symbol": "ES_SPX", "message": "zero gamma crossed"})
    alerts = reader.get("/api/alerts/recent", count=5).json()
    assert [(a["rule"], a["symbol"], a["message"]) for a in alerts] == [
        ("gex-flip", "ES_SPX", "zero gamma crossed"),
        ("es-above", "ESZ26", "ES above 6000"),
    ]
    assert alerts[1]["time"] == "2026-11-24T14:30:00Z"
    assert reader.get("/api/alerts/recent", count=1).json()[0]["rule"] == "gex-flip"
