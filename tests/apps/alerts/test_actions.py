"""Each action against a real receiver: the signed webhook (verified by the receiver, retried
with backoff), Discord's webhook (a 429's Retry-After honoured), Redis pub/sub and the
`alerts:fired` stream of /ws/alerts (each made once, however often the delivery is retried)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from apps.alerts.deliveries import deliveries_due, delivery_perform
from apps.alerts.models import AlertDelivery, AlertRule
from apps.alerts.services import alert_test_fire, rule_save
from apps.core import keys
from apps.core.clock import utc_now
from apps.core.codec import loads
from apps.core.redis import get_redis
from tests.apps.alerts.receivers import receiver

pytestmark = pytest.mark.django_db(transaction=True)
SECRET = "a-shared-secret-of-32-characters"


def _rule(actions: list[dict[str, Any]]) -> AlertRule:
    return rule_save(data={"name": "test rule", "source": "uw_option_trades", "conditions": [], "actions": actions})


def _deliveries(rule: AlertRule) -> list[AlertDelivery]:
    return list(AlertDelivery.objects.filter(event__rule=rule).order_by("action_index"))


def test_webhook_is_signed_and_the_receiver_verifies_it() -> None:
    with receiver(secret=SECRET) as hook:
        rule = _rule([{"kind": "webhook", "url": hook.url, "secret": SECRET}])
        event = alert_test_fire(rule=rule)
        (delivery,) = _deliveries(rule)
        assert delivery_perform(delivery_id=delivery.pk) == "done"
    (request,) = hook.requests
    assert request.verified
    alert = loads(request.body)
    assert alert["id"] == event.pk
    assert alert["rule"] == "test rule"
    assert alert["test"] is True
    assert request.headers["x-pipeline-delivery"] == f"{event.pk}-0"


def test_a_wrong_secret_fails_the_receivers_check() -> None:
    with receiver(secret="the-receivers-own-secret-differs") as hook:
        rule = _rule([{"kind": "webhook", "url": hook.url, "secret": SECRET}])
        alert_test_fire(rule=rule)
        delivery_perform(delivery_id=_deliveries(rule)[0].pk)
    assert not hook.requests[0].verified


def test_a_failing_webhook_is_retried_with_backoff_and_the_other_actions_go_on() -> None:
    with receiver(secret=SECRET) as hook:
        hook.script = [500, 503]
        rule = _rule([{"kind": "webhook", "url": hook.url, "secret": SECRET}, {"kind": "websocket"}])
        alert_test_fire(rule=rule)
        webhook, stream = _deliveries(rule)
        assert delivery_perform(delivery_id=webhook.pk) == "retry"
        assert delivery_perform(delivery_id=stream.pk) == "done"  # not held by the webhook's failure
        webhook.refresh_from_db()
        assert webhook.attempts == 1
        assert webhook.last_error == "HTTP 500"
        assert delivery_perform(delivery_id=webhook.pk) is None  # not due before its backoff
        waits = []
        for expected in ("retry", "done"):
            webhook.refresh_from_db()
            waits.append((webhook.next_attempt_at - utc_now()).total_seconds())
            AlertDelivery.objects.filter(pk=webhook.pk).update(next_attempt_at=utc_now())
            assert delivery_perform(delivery_id=webhook.pk) == expected
    assert 0 < waits[0] <= 1 < waits[1] <= 2  # backoff doubles: 1 s, then 2 s
    assert [request.verified for request in hook.requests] == [True, True, True]
    assert get_redis().xlen(keys.ALERTS_FIRED) == 1


def test_discord_429_waits_for_retry_after_then_delivers() -> None:
    with receiver(discord=True) as discord:
        discord.script, discord.retry_after = [429], 1.0
        rule = _rule([{"kind": "discord", "webhook_url": discord.url}])
        alert_test_fire(rule=rule)
        (delivery,) = _deliveries(rule)
        assert delivery_perform(delivery_id=delivery.pk) == "retry"
        delivery.refresh_from_db()
        assert delivery.last_error == "429 Too Many Requests"
        # Asked again at once, nothing is sent: the delivery is not due before Retry-After.
        assert delivery_perform(delivery_id=delivery.pk) is None
        assert len(discord.requests) == 1
        deadline = time.monotonic() + 10
        while delivery.pk not in deliveries_due() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert delivery_perform(delivery_id=delivery.pk) == "done"
    first, second = discord.requests
    assert second.at - first.at >= 1.0
    assert b"test rule" in second.body


def test_pubsub_and_the_websocket_stream_are_sent_once_however_often_retried() -> None:
    client = get_redis()
    pubsub = client.pubsub()
    pubsub.subscribe("alerts:custom")
    pubsub.get_message(timeout=1)
    rule = _rule([{"kind": "pubsub", "channel": "alerts:custom"}, {"kind": "websocket"}])
    event = alert_test_fire(rule=rule)
    published, streamed = _deliveries(rule)
    for delivery in (published, streamed):
        assert delivery_perform(delivery_id=delivery.pk) == "done"
        # A crash after the send and before the row says "done" makes the delivery run again.
        AlertDelivery.objects.filter(pk=delivery.pk).update(state=AlertDelivery.State.RETRY)
        assert delivery_perform(delivery_id=delivery.pk) == "done"
    message = pubsub.get_message(timeout=2)
    assert message is not None
    assert loads(message["data"])["id"] == event.pk
    assert pubsub.get_message(timeout=0.5) is None
    ((_, fields),) = client.xrange(keys.ALERTS_FIRED)
    assert loads(fields[b"d"])["id"] == event.pk


def test_the_alerts_queue_task_sends_what_is_due(celery_worker: object) -> None:
    """With no engine running, the beat-scheduled task on the `alerts` queue sends a test-fire."""
    from apps.alerts.tasks import alerts_deliver

    rule = _rule([{"kind": "websocket"}])
    event = alert_test_fire(rule=rule)
    assert alerts_deliver.apply_async(queue="alerts").get(timeout=60) == {"attempted": 1}
    assert _deliveries(rule)[0].state == "done"
    ((_, fields),) = get_redis().xrange(keys.ALERTS_FIRED)
    assert loads(fields[b"d"])["id"] == event.pk
