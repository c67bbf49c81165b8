"""Property: whatever the sequence of commands, button presses, kill-switch flips, limit edits,
fills and waits, no order reaches the fake tastytrade that the rules in force at that moment
would refuse. The model below states the rules independently of the services; every new order
at the fake is checked against the model's state at the step that sent it."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from apps.core.clock import utc_now
from apps.core.runtime_config import clear_cache
from apps.trading.broker import Broker
from apps.trading.errors import TradeRefusedError
from apps.trading.models import KillSwitch, TradeAudit, TradeTicket
from apps.trading.selectors import Requester
from apps.trading.services.kill_switch import kill_switch_set
from apps.trading.services.orders import order_confirm, order_request, order_submit, ticket_cancel
from tests import libfaketime
from tests.apps.trading.conftest import ORDER_SYMBOL, STRANGER, TRADER, setting
from tests.fakes.tastytrade import FakeTastytrade

pytestmark = pytest.mark.calendar
# 40 random sequences in the suite. .ci/run's five faketime reruns ask another question: does the
# test stand on its own clock whatever day the machine thinks it is; 10 new sequences each answer it.
EXAMPLES = 10 if libfaketime.preloaded() else 40
ADMIN = Requester(user="999", source="admin")

request_step = st.tuples(
    st.just("request"),
    st.sampled_from(["buy", "sell"]),
    st.sampled_from(["1", "1", "1", "2", "3", "0", "-1", "1e9"]),
    st.sampled_from(["6000.25", "6000.25", "6000.00", "6000.10", "6200.00"]),
)
confirm_step = st.tuples(
    st.just("confirm"), st.integers(-2, -1), st.sampled_from(["trader", "trader", "trader", "stranger"])
)
steps = st.lists(
    st.one_of(
        request_step,
        st.tuples(st.just("trade"), st.sampled_from(["buy", "sell"]), st.sampled_from(["1", "1", "2", "3"])),
        st.tuples(st.just("trade"), st.sampled_from(["buy", "sell"]), st.sampled_from(["1", "1", "2", "3"])),
        confirm_step,
        confirm_step,
        confirm_step,
        st.tuples(st.just("cancel"), st.integers(0, 5)),
        st.tuples(st.just("submit"), st.integers(0, 5)),
        st.tuples(st.just("kill"), st.booleans()),
        st.tuples(st.just("max_qty"), st.integers(0, 3)),
        st.tuples(st.just("max_position"), st.integers(0, 3)),
        st.tuples(st.just("fill"), st.integers(0, 5)),
        st.tuples(st.just("wait"), st.sampled_from([5, 5, 31])),
    ),
    min_size=3,
    max_size=14,
)


@dataclass
class Rules:
    kill: bool = False
    max_qty: int = 2
    max_position: int = 2
    max_account: int = 4
    # Who pressed Confirm in the current step, whose ticket it was, whether it had expired.
    last_actor: tuple[str, str, bool] = ("", "", False)


def _reset(fake: FakeTastytrade) -> None:
    TradeTicket.objects.all().delete()
    TradeAudit.objects.all().delete()
    KillSwitch.objects.all().delete()
    fake.placed_orders.clear()
    fake.orders.clear()
    fake.positions.clear()
    fake.realized_today.clear()
    setting("trading.max_qty_per_order", 2)
    setting("trading.max_position_per_symbol", 2)
    setting("trading.max_orders_per_day", 100)
    clear_cache()


def _allowed(
    body: dict[str, Any], rules: Rules, fake_positions: dict[str, int], *, ticket_user: str, actor: str
) -> bool:
    leg = body["legs"][0]
    quantity = int(leg["quantity"])
    signed = quantity if leg["action"] == "Buy" else -quantity
    position = fake_positions.get(ORDER_SYMBOL, 0) + signed
    others = sum(abs(q) for s, q in fake_positions.items() if s != ORDER_SYMBOL)
    price = Decimal(body["price"])
    return (
        not rules.kill
        and ticket_user == actor
        and 0 < quantity <= rules.max_qty
        and abs(position) <= rules.max_position
        and others + abs(position) <= rules.max_account
        and price % Decimal("0.25") == 0
        and abs(price - Decimal("6000")) / Decimal("6000") * 100 <= 1
    )


@dataclass
class World:
    broker: Broker
    fake: FakeTastytrade
    clock: time_machine.Coordinates
    rules: Rules
    tickets: list[TradeTicket] = field(default_factory=list)


def _request(world: World, *, side: str, quantity: str, price: str) -> TradeTicket:
    view = order_request(requester=TRADER, side=side, symbol="/ES", quantity=quantity, price=price, broker=world.broker)
    world.tickets.append(view.ticket)
    return view.ticket


def _setting_step(world: World, name: str, value: Any) -> None:
    if name == "kill":
        kill_switch_set(on=value, requester=ADMIN)
        world.rules.kill = value
    elif name == "max_qty":
        setting("trading.max_qty_per_order", value)
        world.rules.max_qty = value
    else:
        setting("trading.max_position_per_symbol", value)
        world.rules.max_position = value


def _run_step(world: World, step: tuple[Any, ...]) -> tuple[str, str, bool]:
    """Runs one step; returns who acted, whose ticket it was, and whether it had expired."""
    match step:
        case ("request", side, quantity, price):
            _request(world, side=side, quantity=quantity, price=price)
        case ("trade", side, quantity):
            ticket = _request(world, side=side, quantity=quantity, price="6000.25")
            order_confirm(ticket_id=ticket.id, requester=TRADER, broker=world.broker)
        case ("confirm", index, who) if world.tickets:
            ticket = world.tickets[index % len(world.tickets)]
            requester = TRADER if who == "trader" else STRANGER
            expired = utc_now() >= ticket.expires_at
            try:
                order_confirm(ticket_id=ticket.id, requester=requester, broker=world.broker)
            finally:
                world.rules.last_actor = (requester.user, ticket.user, expired)
        case ("cancel", index) if world.tickets:
            ticket_cancel(ticket_id=world.tickets[index % len(world.tickets)].id, requester=TRADER)
        case ("submit", index) if world.tickets:
            order_submit(ticket_id=world.tickets[index % len(world.tickets)].id, requester=TRADER, broker=world.broker)
        case ("kill" | "max_qty" | "max_position" as name, value):
            _setting_step(world, name, value)
        case ("fill", index) if world.fake.orders:
            order_id = sorted(world.fake.orders)[index % len(world.fake.orders)]
            if world.fake.orders[order_id]["status"] != "Filled":
                world.fake.fill(order_id)
        case ("wait", seconds):
            world.clock.shift(seconds)
    return world.rules.last_actor


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=steps)
def test_no_order_reaches_the_broker_that_the_rules_in_force_would_refuse_on_a_plain_tuesday(
    trading: Broker, fake: FakeTastytrade, clock: time_machine.Coordinates, sequence: list[tuple[Any, ...]]
) -> None:
    _reset(fake)
    world = World(trading, fake, clock, Rules())
    for step in sequence:
        before = len(fake.placed_orders)
        positions_then = dict(fake.positions)
        world.rules.last_actor = (TRADER.user, TRADER.user, False)
        try:
            _run_step(world, step)
        except TradeRefusedError as error:
            event(f"refused: {error.rule}")
        actor, ticket_user, expired = world.rules.last_actor
        new = fake.placed_orders[before:]
        assert len(new) <= 1, "one step placed more than one order"
        for body in new:
            assert _allowed(body, world.rules, positions_then, ticket_user=ticket_user, actor=actor), (step, body)
            assert not expired, "an expired confirmation placed an order"
            placed = TradeTicket.objects.get(external_identifier=body["external-identifier"])
            assert placed.state == TradeTicket.State.PLACED
    event(f"orders placed: {min(len(fake.placed_orders), 3)}")
    # Every order at the broker has exactly one ticket and one "placed" audit row.
    identifiers = [body["external-identifier"] for body in fake.placed_orders]
    assert len(identifiers) == len(set(identifiers))
    assert TradeAudit.objects.filter(kind=TradeAudit.Kind.PLACED).count() == len(identifiers)
