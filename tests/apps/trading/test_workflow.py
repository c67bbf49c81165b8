"""The order workflow end to end against the fake tastytrade (real HTTP, the real SDK)."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from apps.trading.broker import Broker
from apps.trading.errors import TradeRefusedError
from apps.trading.models import TradeAudit, TradeTicket
from apps.trading.selectors import Requester, kill_switch_on
from apps.trading.services.kill_switch import kill_switch_set
from apps.trading.services.orders import (
    order_cancel,
    order_confirm,
    order_request,
    order_status_follow,
    order_submit,
    ticket_cancel,
)
from tests.apps.trading.conftest import ORDER_SYMBOL, TRADER
from tests.fakes.tastytrade import FakeTastytrade

pytestmark = pytest.mark.calendar


def test_buy_on_a_plain_tuesday_dry_runs_then_places_once_with_its_external_identifier(
    trading: Broker, fake: FakeTastytrade
) -> None:
    view = order_request(requester=TRADER, side="buy", symbol="/ES", quantity="1", price="6000.25", broker=trading)
    assert fake.dry_runs == 1
    assert fake.placed_orders == []
    assert view.dry_run["fees"] == "-1.57" or view.dry_run["fees"] == "1.57"
    ticket = order_confirm(ticket_id=view.ticket.id, requester=TRADER, broker=trading)
    assert ticket.state == TradeTicket.State.PLACED
    assert len(fake.placed_orders) == 1
    body = fake.placed_orders[0]
    assert body["legs"][0]["symbol"] == ORDER_SYMBOL
    assert body["legs"][0]["action"] == "Buy"
    assert body["price"] == "6000.25"
    assert body["price-effect"] == "Debit"
    assert body["external-identifier"] == ticket.external_identifier
    kinds = list(TradeAudit.objects.order_by("id").values_list("kind", flat=True))
    assert kinds == ["attempt", "dry_run", "awaiting_confirmation", "confirmed", "placed"]


def test_a_double_confirmation_places_one_order_on_a_plain_tuesday(trading: Broker, fake: FakeTastytrade) -> None:
    view = order_request(requester=TRADER, side="buy", symbol="/ES", quantity="1", price="6000.25", broker=trading)
    order_confirm(ticket_id=view.ticket.id, requester=TRADER, broker=trading)
    with pytest.raises(TradeRefusedError) as caught:
        order_confirm(ticket_id=view.ticket.id, requester=TRADER, broker=trading)
    assert caught.value.rule == "duplicate_confirmation"
    assert len(fake.placed_orders) == 1


@pytest.mark.django_db(transaction=True)
def test_two_confirmations_at_the_same_moment_place_one_order_on_a_plain_tuesday(
    trading: Broker, fake: FakeTastytrade
) -> None:
    view = order_request(requester=TRADER, side="buy", symbol="/ES", quantity="1", price="6000.25", broker=trading)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def press() -> None:
        start.wait()
        try:
            order_confirm(ticket_id=view.ticket.id, requester=TRADER, broker=trading)
            outcomes.append("placed")
        except TradeRefusedError as error:
            outcomes.append(error.rule)
        finally:
            connection.close()

    threads = [threading.Thread(target=press) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["duplicate_confirmation", "placed"]
    assert len(fake.placed_orders) == 1


def test_a_retried_submit_places_one_order_on_a_plain_tuesday(trading: Broker, fake: FakeTastytrade) -> None:
    view = order_request(requester=TRADER, side="buy", symbol="/ES", quantity="1", price="6000.25", broker=trading)
    placed = order_confirm(ticket_id=view.ticket.id, requester=TRADER, broker=trading)
    again = order_submit(ticket_id=view.ticket.id, requester=TRADER, broker=trading)
    assert again.order_id == placed.order_id
    assert len(fake.placed_orders) == 1


def test_a_submit_retried_after_a_timeout_finds_the_order_instead_of_placing_again_on_a_plain_tuesday(
    trading: Broker, fake: FakeTastytrade
) -> None:
    """tastytrade took the order but its answer never arrived: the retry looks the order up by
    its external identifier and records it; the fake still holds one order."""
    view = order_request(requester=TRADER, side="buy", symbol="/ES", quantity="1", price="6000.25", broker=trading)
    fake.answer_delay = 1.5
    with pytest.raises(TradeRefusedError) as caught:
        order_confirm(ticket_id=view.ticket.id, requester=TRADER, broker=Broker(trading.target, timeout=0.5))
    assert caught.value.rule == "broker_timeout"
    assert TradeTicket.objects.get(pk=view.ticket.id).state == TradeTicket.State.SUBMITTING
    deadline = time.monotonic() + 10
    while not fake.placed_orders and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(fake.placed_orders) == 1  # the broker did take it
    fake.answer_delay = 0
    ticket = order_submit(ticket_id=view.ticket.id, requester=TRADER, broker=trading)
    assert ticket.state == TradeTicket.State.PLACED
    assert len(fake.placed_orders) == 1
    row = TradeAudit.objects.get(kind=TradeAudit.Kind.PLACED)
    assert row.result["found_by_external_identifier"] is True
    assert row.order_id == ticket.order_id


def test_status_changes_are_followed_and_audited_on_a_plain_tuesday(trading: Broker, fake: FakeTastytrade) -> None:
    view = order_request(requester=TRADER, side="buy", symbol="/ES", quantity="1", price="6000.25", broker=trading)
    ticket = order_confirm(ticket_id=view.ticket.id, requester=TRADER, broker=trading)
    assert order_status_follow(ticket_id=ticket.id, broker=trading) is None  # still Routed
    fake.set_status(int(ticket.order_id), "Live")
    assert order_status_follow(ticket_id=ticket.id, broker=trading) == ("Routed", "Live")
    fake.fill(int(ticket.order_id))
    assert order_status_follow(ticket_id=ticket.id, broker=trading) == ("Live", "Filled")
    changes = TradeAudit.objects.filter(kind=TradeAudit.Kind.STATUS).order_by("id")
    assert [row.result["to"] for row in changes] == ["Live", "Filled"]
    assert fake.positions[ORDER_SYMBOL] == 1


def test_cancels_go_through_while_the_kill_switch_is_on_on_a_plain_tuesday(
    trading: Broker, fake: FakeTastytrade
) -> None:
    view = order_request(requester=TRADER, side="buy", symbol="/ES", quantity="1", price="6000.25", broker=trading)
    ticket = order_confirm(ticket_id=view.ticket.id, requester=TRADER, broker=trading)
    kill_switch_set(on=True, requester=Requester(user="admin", source="api"))
    order_cancel(ticket_id=ticket.id, requester=TRADER, broker=trading)
    assert fake.orders[int(ticket.order_id)]["status"] == "Cancelled"
    assert TradeAudit.objects.filter(kind=TradeAudit.Kind.ORDER_CANCEL, order_id=ticket.order_id).exists()


def test_the_cancel_button_means_it_is_never_placed_on_a_plain_tuesday(trading: Broker, fake: FakeTastytrade) -> None:
    view = order_request(requester=TRADER, side="buy", symbol="/ES", quantity="1", price="6000.25", broker=trading)
    ticket_cancel(ticket_id=view.ticket.id, requester=TRADER)
    with pytest.raises(TradeRefusedError):
        order_confirm(ticket_id=view.ticket.id, requester=TRADER, broker=trading)
    assert fake.placed_orders == []


def test_only_a_discord_admin_flips_the_kill_switch(db: None) -> None:
    with pytest.raises(TradeRefusedError) as caught:
        kill_switch_set(on=True, requester=Requester(user="5", guild="900", channel="500", is_admin=False))
    assert caught.value.rule == "kill_switch_admin"
    assert not kill_switch_on()
    kill_switch_set(on=True, requester=Requester(user="6", guild="900", channel="500", is_admin=True))
    assert kill_switch_on()
    assert TradeAudit.objects.filter(kind=TradeAudit.Kind.KILL_SWITCH, user="6").exists()
