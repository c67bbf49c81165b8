"""The alerts fired, newest first."""

from __future__ import annotations

from apps.core import keys
from apps.core.fired_alerts import alerts_recent
from apps.core.redis import get_redis


def test_the_last_alerts_fired_newest_first_with_all_their_fields() -> None:
    assert alerts_recent() == []
    client = get_redis()
    first = client.xadd(keys.ALERTS_FIRED, {"rule": "es-above", "symbol": "ESZ26", "message": "ES above 6000"})
    second = client.xadd(keys.ALERTS_FIRED, {"rule": "gex-flip", "symbol": "ES_SPX"})
    alerts = alerts_recent(count=5)
    assert [alert.id for alert in alerts] == [second.decode(), first.decode()]
    assert alerts[1].fields == {"rule": "es-above", "symbol": "ESZ26", "message": "ES above 6000"}
    assert [alert.fields["rule"] for alert in alerts_recent(count=1)] == ["gex-flip"]
