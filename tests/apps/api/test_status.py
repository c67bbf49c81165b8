"""Status endpoints: streamers, the lake flush, Celery queues and recent alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine

from apps.core import keys
from apps.core.redis import get_redis
from apps.core.services import runtime_setting_update
from apps.storage.flush import streams_flush
from apps.storage.tasks import flush_streams
from tests.apps.api.conftest import Caller
from tests.apps.api.helpers import trade, write

pytestmark = pytest.mark.django_db


SIMULATOR_STATUS = {
    "state": "connected",
    "connected_since": "1795530600.5",
    "last_message_ms": "1795530660250",
    "messages_per_second": "120.5",
    "reconnects": "2",
    "gaps": "1",
    "store_outages": "3",
    "updated_at": "2026-11-24T14:31:00+00:00",
}
# Tuesday 24 November 2026, five seconds after the simulator last wrote its status.
TUESDAY = datetime(2026, 11, 24, 14, 31, 5, tzinfo=UTC)


@pytest.mark.calendar
def test_configured_streamers_and_live_processes_are_listed_on_a_tuesday(reader: Caller) -> None:
    get_redis().hset(keys.streamer("simulator"), mapping=SIMULATOR_STATUS)
    # A feed this deployment does not configure, but whose process is alive: listed.
    get_redis().hset(
        keys.streamer("uw"),
        mapping={"state": "reconnecting", "reconnects": "7", "updated_at": "2026-11-24T14:31:04+00:00"},
    )
    # A replay that ran earlier and stopped: it runs on demand, so it is not listed.
    get_redis().hset(keys.streamer("replay"), mapping={"state": "stopped", "updated_at": "2026-11-24T09:00:00+00:00"})
    runtime_setting_update(key="marketdata.disabled_streamers", value=["schwab"])
    with time_machine.travel(TUESDAY, tick=False):
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
    # schwab is switched off and not set up here; replay is on demand and not running.
    assert set(rows) == {"simulator", "uw"}


@pytest.mark.calendar
def test_a_stopped_or_vanished_streamer_shows_no_rate_on_a_tuesday(reader: Caller) -> None:
    get_redis().hset(keys.streamer("simulator"), mapping={**SIMULATOR_STATUS, "state": "stopped"})
    with time_machine.travel(TUESDAY, tick=False):
        stopped = reader.get("/api/status/streamers").json()[0]
    assert (stopped["state"], stopped["rate"], stopped["connected_since"]) == ("stopped", 0.0, None)
    assert stopped["last_message"] == "2026-11-24T14:31:00.250000Z", "when it last heard something stays useful"

    # Killed without a word: its hash still says connected, but nothing rewrote it for 2 minutes.
    get_redis().hset(keys.streamer("simulator"), mapping=SIMULATOR_STATUS)
    with time_machine.travel(TUESDAY + timedelta(minutes=2), tick=False):
        vanished = reader.get("/api/status/streamers").json()[0]
    assert (vanished["state"], vanished["rate"], vanished["connected_since"]) == ("not_running", 0.0, None)


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
