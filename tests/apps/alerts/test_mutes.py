"""Muting a rule (`!alert mute RULE 30m`, the admin): while the mute is in force the engine still
records the rule's matches (marked muted) but delivers none of them, not even later; once it ends
the next match is delivered again (and the alert series count what happened). The clock is set,
never slept on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from prometheus_client import REGISTRY

from apps.alerts.deliveries import deliveries_run
from apps.alerts.durations import duration_parse
from apps.alerts.engine import AlertEngine
from apps.alerts.models import AlertDelivery, AlertEvent, AlertMute, AlertRule
from apps.alerts.selectors import rules_summary
from apps.alerts.services import rule_mute, rule_save, rule_unmute
from apps.core import keys
from apps.core.codec import dumps, loads
from apps.core.exceptions import BadInputError
from apps.core.redis import get_redis
from apps.uw.events import OptionTrade
from apps.uw.parsing import option_trade_parse
from apps.uw.services.hot_store import uw_events_write
from tests.apps.alerts.payloads import OPTION_TRADE

pytestmark = pytest.mark.django_db
NOON = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)


def big_prints() -> AlertRule:
    return rule_save(
        data={
            "name": "big prints",
            "source": "uw_option_trades",
            "conditions": [{"kind": "premium_at_least", "min": "1000000"}],
            "actions": [{"kind": "websocket"}],
        }
    )


def trade(trade_id: str, premium: str = "2500000.00") -> OptionTrade:
    payload = {**OPTION_TRADE, "id": trade_id, "premium": premium}
    return option_trade_parse(dumps(payload), ts_recv=1726670167412_000_000)


DELIVERED = {"action": "websocket", "outcome": "delivered"}


def metric(name: str, labels: dict[str, str] | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


def fired_ids() -> list[str]:
    return [loads(fields[b"d"])["input"]["id"] for _, fields in get_redis().xrange(keys.ALERTS_FIRED)]


@pytest.mark.parametrize(
    ("text", "minutes"), [("30m", 30), ("2h", 120), ("1h30m", 90), ("1d", 1440), ("90s", 1.5), (" 45M ", 45)]
)
def test_durations_as_people_type_them(text: str, minutes: float) -> None:
    assert duration_parse(text) == timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("30", "'30' is not a duration: use e.g. 30m, 2h, 1h30m, 1d"),
        ("soon", "'soon' is not a duration"),
        ("-5m", "'-5m' is not a duration"),
        ("0m", "'0m' is no time at all"),
        ("8d", "'8d' is longer than the longest mute (7 days)"),
        ("", "'' is not a duration"),
    ],
)
def test_a_bad_duration_is_named(text: str, named: str) -> None:
    with pytest.raises(BadInputError) as caught:
        duration_parse(text)
    assert caught.value.field == "duration"
    assert named in caught.value.message


def test_unknown_rules_bad_durations_and_unmuting_an_unmuted_rule_are_named() -> None:
    big_prints()
    with pytest.raises(BadInputError, match="there is no alert rule named 'small prints'") as caught:
        rule_mute(rule_name="small prints", duration="30m", by="discord:42")
    assert caught.value.field == "rule"
    with pytest.raises(BadInputError, match="'half an hour' is not a duration"):
        rule_mute(rule_name="big prints", duration="half an hour", by="discord:42")
    with pytest.raises(BadInputError, match="'big prints' is not muted"):
        rule_unmute(rule_name="big prints", by="discord:42")
    assert not AlertMute.objects.exists()


def test_a_new_mute_replaces_the_one_in_force_and_unmute_ends_it_now() -> None:
    big_prints()
    with time_machine.travel(NOON, tick=False) as clock:
        rule_mute(rule_name="BIG PRINTS", duration="2h", by="discord:42")
        rule_mute(rule_name="big prints", duration="30m", by="discord:43")
        [summary] = rules_summary()
        assert (summary.muted_until, summary.muted_by) == (NOON + timedelta(minutes=30), "discord:43")
        clock.shift(timedelta(minutes=10))
        rule_unmute(rule_name="big prints", by="discord:44")
        assert rules_summary()[0].muted_until is None
        ends = list(AlertMute.objects.order_by("created_at", "id").values_list("until", "unmuted_by"))
        assert ends == [(NOON, "discord:43"), (NOON + timedelta(minutes=10), "discord:44")]


def test_the_engine_delivers_nothing_of_a_muted_rule_until_the_mute_ends(
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = get_redis()
    client.set(keys.ALERTS_ENGINE_SINCE, "0")  # the engine's groups read the streams from their start
    big_prints()
    engine = AlertEngine(client=client)
    matches, delivered = metric("pipeline_alert_matches_total"), metric("pipeline_alert_deliveries_total", DELIVERED)
    # Matches are counted when their transaction commits; the test's transaction never does.
    with time_machine.travel(NOON, tick=False) as clock, django_capture_on_commit_callbacks(execute=True):
        rule_mute(rule_name="big prints", duration="30m", by="discord:42")
        engine.refresh_rules(force=True)
        uw_events_write(client=client, events=[trade("during-1"), trade("small", premium="1200.00")])
        engine.discover(force=True)
        engine.step()
        clock.move_to(NOON + timedelta(minutes=29, seconds=59))
        uw_events_write(client=client, events=[trade("during-2")])
        engine.step()
        deliveries_run()
        recorded = dict(AlertEvent.objects.values_list("input__id", "muted"))
        assert recorded == {"during-1": True, "during-2": True}, "muted matches are recorded, marked muted"
        assert not AlertDelivery.objects.exists()
        assert fired_ids() == []

        clock.move_to(NOON + timedelta(minutes=30))  # the mute ends at its `until`
        uw_events_write(client=client, events=[trade("after")])
        engine.step()
        deliveries_run()
    assert fired_ids() == ["after"], "only the match after the mute reaches /ws/alerts; the muted ones never do"
    assert AlertEvent.objects.get(input__id="after").muted is False
    assert metric("pipeline_alert_matches_total") == matches + 3, "muted matches are matches"
    assert metric("pipeline_alert_deliveries_total", DELIVERED) == delivered + 1


def test_the_admin_lists_mutes_and_adds_one() -> None:
    rule = big_prints()
    client = Client()
    client.force_login(User.objects.create_superuser("admin", "a@example.invalid", "pw"))
    with time_machine.travel(NOON, tick=False):
        past = client.post(
            "/admin/alerts/alertmute/add/", {"rule": rule.pk, "until_0": "2026-03-10", "until_1": "16:00:00"}
        )
        assert past.status_code == 200
        assert "give an end in the future" in past.content.decode()
        added = client.post(
            "/admin/alerts/alertmute/add/", {"rule": rule.pk, "until_0": "2026-03-10", "until_1": "18:00:00"}
        )
        assert added.status_code == 302, added.content.decode()[:2000]
        mute = AlertMute.objects.get()
        assert (mute.until, mute.muted_by) == (datetime(2026, 3, 10, 18, 0, tzinfo=UTC), "admin:admin")
        listing = client.get("/admin/alerts/alertmute/").content.decode()
        assert "big prints" in listing
        assert "admin:admin" in listing
        rules = client.get("/admin/alerts/alertrule/").content.decode()
        assert "2026-03-10 18:00 UTC (admin:admin)" in rules
