"""Every refusal path against the fake tastytrade: a clear message naming the rule, the audit
row, and nothing placed (the fake counts placed orders)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import time_machine

from apps.core import keys
from apps.core.redis import get_redis
from apps.trading.broker import Broker, broker_target
from apps.trading.errors import TradeRefusedError
from apps.trading.models import BotAllowlistEntry, TradeAudit, TradeTicket
from apps.trading.selectors import Requester
from apps.trading.services.kill_switch import kill_switch_set
from apps.trading.services.orders import order_confirm, order_request, order_submit
from tests.apps.trading.conftest import CONTRACT, ORDER_SYMBOL, STRANGER, TRADER, setting
from tests.fakes.tastytrade import FakeTastytrade

pytestmark = pytest.mark.calendar
ADMIN = Requester(user="999", source="admin")


def refused(rule: str, fake: FakeTastytrade, call: Callable[[], Any]) -> TradeRefusedError:
    with pytest.raises(TradeRefusedError) as caught:
        call()
    assert caught.value.rule == rule, caught.value.message
    assert fake.placed_orders == []
    row = TradeAudit.objects.filter(kind=TradeAudit.Kind.REFUSED).latest("id")
    assert row.rule == rule
    assert row.message == caught.value.message
    return caught.value


def request(broker: Broker, requester: Requester = TRADER, **order: str) -> Callable[[], Any]:
    fields = {"side": "buy", "symbol": "/ES", "quantity": "1", "price": "6000.25", **order}
    return lambda: order_request(requester=requester, broker=broker, **fields)


@pytest.mark.parametrize(
    ("order", "rule", "named"),
    [
        ({"quantity": "1e9"}, "quantity", "'1e9'"),
        ({"quantity": "-1"}, "quantity", "'-1'"),
        ({"quantity": "0"}, "quantity", "'0'"),
        ({"quantity": "3"}, "max_qty_per_order", "limit of 2"),
        ({"price": "abc"}, "price", "'abc'"),
        ({"price": "6000.10"}, "tick", "0.25"),
        ({"price": "6100"}, "price_band", "band is 1%"),
        ({"symbol": "FOO"}, "symbol", "FOO"),
        ({"symbol": "/NQ"}, "symbol_allowlist", "NQ is not on the trading symbol list"),
        ({"side": "short"}, "side", "'short'"),
        ({"order_type": "Market"}, "order_type", "Market"),
        ({"time_in_force": "GTC"}, "time_in_force", "GTC"),
    ],
)
def test_bad_orders_on_a_plain_tuesday_are_refused_naming_the_problem(
    trading: Broker, fake: FakeTastytrade, order: dict[str, str], rule: str, named: str
) -> None:
    error = refused(rule, fake, request(trading, **order))
    assert named in error.message
    assert fake.dry_runs == 0


def test_a_symbol_tastytrade_does_not_know_is_refused_on_a_plain_tuesday(trading: Broker, fake: FakeTastytrade) -> None:
    fake.future_roots.discard("MES")
    error = refused("symbol", fake, request(trading, symbol="MES", price="6000.25"))
    assert "/MESZ6" in error.message


def test_no_last_trade_in_the_hot_store_refuses_on_a_plain_tuesday(trading: Broker, fake: FakeTastytrade) -> None:
    get_redis().delete(keys.LIVE.last(CONTRACT))
    assert "No last trade for ESZ26" in refused("price_band", fake, request(trading)).message


@pytest.mark.parametrize(
    ("entries", "requester", "rule"),
    [
        ([], Requester(user="111", guild="901", channel="500"), "allowlist_guild"),
        ([], Requester(user="111", guild="900", channel="501"), "allowlist_channel"),
        ([], Requester(user="333", guild="900", channel="500"), "allowlist_user"),
        ([("role", "88")], TRADER, "allowlist_role"),
    ],
)
def test_each_trading_allowlist_refuses_on_a_plain_tuesday(
    trading: Broker, fake: FakeTastytrade, entries: list[tuple[str, str]], requester: Requester, rule: str
) -> None:
    for kind, value in entries:
        BotAllowlistEntry.objects.create(cog="trading", kind=kind, discord_id=value)
    refused(rule, fake, request(trading, requester))


def test_the_other_cogs_allowlist_does_not_open_trading_on_a_plain_tuesday(
    trading: Broker, fake: FakeTastytrade
) -> None:
    stranger = Requester(user="444", guild="900", channel="500")
    BotAllowlistEntry.objects.create(cog="gex", kind="user", discord_id="444")
    refused("allowlist_user", fake, request(trading, stranger))


@pytest.mark.parametrize(
    ("positions", "realized", "rule"),
    [
        ({ORDER_SYMBOL: 2}, {}, "max_position_per_symbol"),
        ({"/NQZ6": 4}, {}, "max_position_per_account"),
        ({}, {"/NQZ6": -1000.0}, "max_daily_loss"),
    ],
)
def test_limits_are_checked_against_the_brokers_positions_and_fills_on_a_plain_tuesday(
    trading: Broker, fake: FakeTastytrade, positions: dict[str, int], realized: dict[str, float], rule: str
) -> None:
    fake.positions.update(positions)
    fake.realized_today.update(realized)
    refused(rule, fake, request(trading))


def test_a_sell_that_reduces_a_long_at_the_symbol_limit_is_allowed_on_a_plain_tuesday(
    trading: Broker, fake: FakeTastytrade
) -> None:
    fake.positions[ORDER_SYMBOL] = 2
    view = request(trading, side="sell")()
    order_confirm(ticket_id=view.ticket.id, requester=TRADER, broker=trading)
    assert len(fake.placed_orders) == 1
    assert fake.placed_orders[0]["legs"][0]["action"] == "Sell"


def test_max_orders_per_day_counts_todays_placements_on_a_plain_tuesday(trading: Broker, fake: FakeTastytrade) -> None:
    setting("trading.max_orders_per_day", 1)
    view = request(trading)()
    order_confirm(ticket_id=view.ticket.id, requester=TRADER, broker=trading)
    assert len(fake.placed_orders) == 1
    with pytest.raises(TradeRefusedError) as caught:
        request(trading)()
    assert caught.value.rule == "max_orders_per_day"
    assert len(fake.placed_orders) == 1


def test_kill_switch_at_validation_on_a_plain_tuesday(trading: Broker, fake: FakeTastytrade) -> None:
    kill_switch_set(on=True, requester=ADMIN)
    error = refused("kill_switch", fake, request(trading))
    assert "validation" in error.message
    assert fake.dry_runs == 0


def test_kill_switch_at_confirmation_on_a_plain_tuesday(trading: Broker, fake: FakeTastytrade) -> None:
    view = request(trading)()
    kill_switch_set(on=True, requester=ADMIN)
    error = refused(
        "kill_switch", fake, lambda: order_confirm(ticket_id=view.ticket.id, requester=TRADER, broker=trading)
    )
    assert "confirmation" in error.message


def test_kill_switch_immediately_before_submit_on_a_plain_tuesday(trading: Broker, fake: FakeTastytrade) -> None:
    """A submit retried after a timeout finds the switch on: nothing is placed."""
    view = request(trading)()
    TradeTicket.objects.filter(pk=view.ticket.id).update(state=TradeTicket.State.SUBMITTING)
    kill_switch_set(on=True, requester=ADMIN)
    error = refused(
        "kill_switch", fake, lambda: order_submit(ticket_id=view.ticket.id, requester=TRADER, broker=trading)
    )
    assert "submit" in error.message


@pytest.mark.django_db(transaction=True)
def test_kill_switch_flipped_during_revalidation_stops_the_submit_on_a_plain_tuesday(
    trading: Broker, fake: FakeTastytrade
) -> None:
    """The admin flips the switch while the confirmation is being validated again (the moment
    the broker's positions are read): the check immediately before the submit catches it."""
    view = request(trading)()
    reads = []

    def admin_flips() -> None:
        reads.append(1)
        kill_switch_set(on=True, requester=ADMIN)

    fake.on_positions = admin_flips
    error = refused(
        "kill_switch", fake, lambda: order_confirm(ticket_id=view.ticket.id, requester=TRADER, broker=trading)
    )
    assert reads
    assert "submit" in error.message


def test_someone_elses_confirmation_is_refused_and_the_requesters_still_works_on_a_plain_tuesday(
    trading: Broker, fake: FakeTastytrade
) -> None:
    view = request(trading)()
    refused(
        "foreign_confirmation",
        fake,
        lambda: order_confirm(ticket_id=view.ticket.id, requester=STRANGER, broker=trading),
    )
    order_confirm(ticket_id=view.ticket.id, requester=TRADER, broker=trading)
    assert len(fake.placed_orders) == 1


def test_a_button_pressed_after_30_s_is_expired_on_a_plain_tuesday(
    trading: Broker, fake: FakeTastytrade, clock: time_machine.Coordinates
) -> None:
    view = request(trading)()
    clock.shift(31)
    error = refused("expired", fake, lambda: order_confirm(ticket_id=view.ticket.id, requester=TRADER, broker=trading))
    assert "30 s" in error.message
    assert TradeTicket.objects.get(pk=view.ticket.id).state == TradeTicket.State.EXPIRED


def test_a_limit_lowered_before_the_confirmation_refuses_it_on_a_plain_tuesday(
    trading: Broker, fake: FakeTastytrade
) -> None:
    view = request(trading, quantity="2")()
    setting("trading.max_qty_per_order", 1)
    refused(
        "max_qty_per_order", fake, lambda: order_confirm(ticket_id=view.ticket.id, requester=TRADER, broker=trading)
    )


def test_dry_run_only_by_default_places_nothing_on_a_plain_tuesday(trading: Broker, fake: FakeTastytrade) -> None:
    setting("trading.dry_run_only", True)
    view = request(trading)()
    assert fake.dry_runs == 1
    refused("dry_run_only", fake, lambda: order_confirm(ticket_id=view.ticket.id, requester=TRADER, broker=trading))


def test_the_brokers_4xx_on_the_dry_run_is_refused_on_a_plain_tuesday(trading: Broker, fake: FakeTastytrade) -> None:
    fake.order_failures.append((422, "margin_check_failed", "Insufficient buying power"))
    error = refused("broker_error", fake, request(trading))
    assert "Insufficient buying power" in error.message


def test_the_broker_timing_out_on_the_dry_run_is_refused_on_a_plain_tuesday(
    fake: FakeTastytrade, trading: Broker
) -> None:
    fake.order_delay = 2.0
    quick = Broker(trading.target, timeout=0.5)
    error = refused("broker_timeout", fake, request(quick))
    assert "did not answer" in error.message


def test_the_brokers_4xx_on_the_placement_writes_an_error_row_on_a_plain_tuesday(
    trading: Broker, fake: FakeTastytrade
) -> None:
    view = request(trading)()
    fake.order_failures.append((400, "invalid_order", "Order rejected by the exchange"))
    with pytest.raises(TradeRefusedError) as caught:
        order_confirm(ticket_id=view.ticket.id, requester=TRADER, broker=trading)
    assert caught.value.rule == "broker_error"
    assert "rejected by the exchange" in caught.value.message
    assert fake.placed_orders == []
    assert TradeAudit.objects.filter(kind=TradeAudit.Kind.ERROR, rule="broker_error").exists()
    assert TradeTicket.objects.get(pk=view.ticket.id).state == TradeTicket.State.FAILED


def test_live_needs_the_variable_the_setting_and_the_account(settings: Any, fake: FakeTastytrade) -> None:
    base = settings.ENV.model_copy(update={"TRADING_ACCOUNT": "5WT00001", "TRADING_SANDBOX_API_URL": fake.base_url})
    settings.ENV = base
    assert broker_target(live_setting=True, live_accounts=["5WT00001"]).environment == "sandbox"
    settings.ENV = base.model_copy(update={"TRADING_LIVE": True})
    assert broker_target(live_setting=False, live_accounts=["5WT00001"]).environment == "sandbox"
    assert broker_target(live_setting=True, live_accounts=["OTHER1"]).environment == "sandbox"
    live = broker_target(live_setting=True, live_accounts=["5WT00001"])
    assert live.environment == "live"
    assert live.api_url == base.TASTYTRADE_API_URL
