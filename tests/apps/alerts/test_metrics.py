"""The alerts' Prometheus series move where the events happen: a match recorded by the engine
counts in `pipeline_alert_matches_total` (once, however often its batch is evaluated), and each
delivery attempt in `pipeline_alert_deliveries_total` by its action and outcome (delivered, retry,
failed: what the AlertDeliveriesFailing rule watches)."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import REGISTRY

from apps.alerts.deliveries import delivery_perform
from apps.alerts.engine import AlertEngine
from apps.alerts.models import AlertDelivery, AlertEvent, AlertRule
from apps.alerts.services import alert_test_fire, alerts_record, rule_save
from apps.alerts.sources import STREAM_KINDS, entry_inputs
from apps.core import keys
from apps.core.clock import utc_now
from apps.core.codec import dumps
from apps.core.redis import get_redis
from apps.uw.parsing import option_trade_parse
from apps.uw.services.hot_store import uw_events_write
from tests.apps.alerts.payloads import OPTION_TRADE
from tests.apps.alerts.receivers import receiver

pytestmark = pytest.mark.django_db(transaction=True)
SECRET = "a-shared-secret-of-32-characters"


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _deliveries(**labels: str) -> float:
    return _value("pipeline_alert_deliveries_total", **labels)


def _rule(actions: list[dict[str, Any]], conditions: list[dict[str, Any]] | None = None) -> AlertRule:
    return rule_save(
        data={"name": "metric rule", "source": "uw_option_trades", "conditions": conditions or [], "actions": actions}
    )


def test_a_match_the_engine_records_counts_once() -> None:
    _rule([], conditions=[{"kind": "premium_at_least", "min": "0"}])
    client = get_redis()
    client.set(keys.ALERTS_ENGINE_SINCE, "0")
    trades = [{**OPTION_TRADE, "id": "first"}, {**OPTION_TRADE, "id": "second", "premium": "0.5"}]
    uw_events_write(client=client, events=[option_trade_parse(dumps(trade), ts_recv=1) for trade in trades])
    before = _value("pipeline_alert_matches_total")
    engine = AlertEngine(client=client)
    engine.refresh_rules(force=True)
    engine.discover(force=True)
    while engine.step():
        pass
    assert AlertEvent.objects.count() == 2
    assert _value("pipeline_alert_matches_total") == before + 2
    # The same batch evaluated again (a crash between recording and acknowledging) records
    # nothing new and counts nothing.
    engine.compile_rules()  # forget the cooldown and dedup state, as a restarted engine would
    (book,) = engine.books.values()
    reread = book.evaluate(_inputs_of(client.xrange(keys.UW_OPTION_TRADES)))
    assert len(reread) == 2
    assert alerts_record(fires=reread) == 0
    assert _value("pipeline_alert_matches_total") == before + 2


def _inputs_of(entries: list[tuple[bytes, dict[bytes, bytes]]]) -> list[Any]:
    (kind,) = [kind for kind in STREAM_KINDS if kind.name == "uw_option_trades"]
    return [
        item
        for entry_id, fields in entries
        for item in entry_inputs(kind, keys.UW_OPTION_TRADES, entry_id.decode(), fields)
    ]


def test_a_failed_delivery_moves_its_actions_failed_series_and_a_retry_its_retry_series() -> None:
    failed, retried = (
        _deliveries(action="webhook", outcome="failed"),
        _deliveries(action="webhook", outcome="retry"),
    )
    delivered_ws = _deliveries(action="websocket", outcome="delivered")
    with receiver(secret=SECRET) as hook:
        hook.script = [404]  # a 4xx other than 408/429: retrying cannot help
        rule = _rule([{"kind": "webhook", "url": hook.url, "secret": SECRET}, {"kind": "websocket"}])
        alert_test_fire(rule=rule)
        webhook, stream = AlertDelivery.objects.filter(event__rule=rule).order_by("action_index")
        assert delivery_perform(delivery_id=webhook.pk) == "failed"
        assert delivery_perform(delivery_id=stream.pk) == "done"
    assert _deliveries(action="webhook", outcome="failed") == failed + 1
    assert _deliveries(action="webhook", outcome="retry") == retried
    assert _deliveries(action="websocket", outcome="delivered") == delivered_ws + 1


def test_a_discord_429_counts_a_retry_then_a_delivery() -> None:
    retried, delivered = (
        _deliveries(action="discord", outcome="retry"),
        _deliveries(action="discord", outcome="delivered"),
    )
    failed = _deliveries(action="discord", outcome="failed")
    with receiver(discord=True) as discord:
        discord.script, discord.retry_after = [429], 1.0
        rule = _rule([{"kind": "discord", "webhook_url": discord.url}])
        alert_test_fire(rule=rule)
        (delivery,) = AlertDelivery.objects.filter(event__rule=rule)
        assert delivery_perform(delivery_id=delivery.pk) == "retry"
        assert (_deliveries(action="discord", outcome="retry"), _deliveries(action="discord", outcome="delivered")) == (
            retried + 1,
            delivered,
        )
        AlertDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=utc_now())
        assert delivery_perform(delivery_id=delivery.pk) == "done"
    assert _deliveries(action="discord", outcome="delivered") == delivered + 1
    assert _deliveries(action="discord", outcome="failed") == failed
