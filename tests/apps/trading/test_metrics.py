"""The trading series of the metric catalogue move with what happens: each decision on an order
attempt counts `pipeline_trading_attempts_total{decision}`, and `pipeline_trading_kill_switch`
follows every flip and every check of the switch."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from apps.trading.broker import Broker
from apps.trading.errors import TradeRefusedError
from apps.trading.models import KillSwitch
from apps.trading.selectors import Requester
from apps.trading.services.kill_switch import kill_switch_set
from apps.trading.services.orders import TicketView, order_confirm, order_request
from tests.apps.trading.conftest import TRADER
from tests.fakes.tastytrade import FakeTastytrade

pytestmark = pytest.mark.calendar
ADMIN = Requester(user="999", source="admin")
DECISIONS = ("refused", "dry_run", "confirmed", "placed", "cancelled", "error")


def attempts() -> dict[str, float]:
    return {
        decision: REGISTRY.get_sample_value("pipeline_trading_attempts_total", {"decision": decision}) or 0.0
        for decision in DECISIONS
    }


def kill_switch_gauge() -> float | None:
    return REGISTRY.get_sample_value("pipeline_trading_kill_switch")


def order(broker: Broker, **changes: str) -> TicketView:
    fields = {"side": "buy", "symbol": "/ES", "quantity": "1", "price": "6000.25", **changes}
    return order_request(requester=TRADER, broker=broker, **fields)


def test_a_refused_attempt_counts_as_refused_only_on_a_plain_tuesday(trading: Broker, fake: FakeTastytrade) -> None:
    before = attempts()
    with pytest.raises(TradeRefusedError):
        order(trading, quantity="1e9")
    after = attempts()
    changes = {decision: after[decision] - before[decision] for decision in DECISIONS}
    assert changes == {**dict.fromkeys(DECISIONS, 0.0), "refused": 1.0}


def test_a_placed_order_counts_its_dry_run_confirmation_and_placement_on_a_plain_tuesday(
    trading: Broker, fake: FakeTastytrade
) -> None:
    before = attempts()
    view = order(trading)
    order_confirm(ticket_id=view.ticket.id, requester=TRADER, broker=trading)
    after = attempts()
    assert {decision: after[decision] - before[decision] for decision in DECISIONS} == {
        "refused": 0.0,
        "dry_run": 1.0,
        "confirmed": 1.0,
        "placed": 1.0,
        "cancelled": 0.0,
        "error": 0.0,
    }
    assert len(fake.placed_orders) == 1


def test_the_kill_switch_gauge_follows_flips_and_checks_on_a_plain_tuesday(
    trading: Broker, fake: FakeTastytrade
) -> None:
    kill_switch_set(on=True, requester=ADMIN)
    assert kill_switch_gauge() == 1.0
    before = attempts()
    with pytest.raises(TradeRefusedError, match="kill switch"):
        order(trading)
    assert attempts()["refused"] == before["refused"] + 1
    kill_switch_set(on=False, requester=ADMIN)
    assert kill_switch_gauge() == 0.0
    # Flipped elsewhere (another process wrote the row): the next check here reports it.
    KillSwitch.objects.filter(pk=1).update(on=True)
    with pytest.raises(TradeRefusedError, match="kill switch"):
        order(trading)
    assert kill_switch_gauge() == 1.0
