"""The order workflow, every rule enforced here (the cog only calls these):

request: allowlist -> kill switch (checkpoint 1) -> quantity, price, type, time in force ->
symbol allowlisted and resolving through tastytrade's instruments -> price on tick -> price
within the band of our last trade -> limits against the broker's positions and today's P&L ->
dry run at tastytrade -> a ticket only the requester may confirm, for CONFIRM_SECONDS.
confirm: requester and expiry -> kill switch (checkpoint 2) -> one confirmation wins (an
atomic state change) -> everything validated again -> dry-run-only? -> submit.
submit: the ticket locked -> already placed? -> kill switch (checkpoint 3, immediately before
the call) -> an order with the ticket's external identifier already at the broker? (a
placement whose answer was lost) -> place -> placed, with the order id.

Every attempt and decision writes a TradeAudit row; a refusal raises TradeRefusedError naming
the rule, and nothing reaches the broker's order endpoint.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import asdict, dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction

from apps.core.clock import utc_now
from apps.core.runtime_config import refresh_if_stale, runtime_value
from apps.marketdata.selectors import last_values
from apps.marketdata.symbols import MONTH_CODES, Contract, SymbolError, lead_contract, parse_contract
from apps.monitoring.metrics import TRADING_ATTEMPTS, TRADING_KILL_SWITCH
from apps.trading.broker import Broker, BrokerError, BrokerTimeoutError, OrderSpec, broker_target
from apps.trading.errors import TradeRefusedError
from apps.trading.models import TradeAudit, TradeTicket
from apps.trading.selectors import (
    Requester,
    allowlist_refusal,
    kill_switch_on,
    orders_placed_since,
    start_of_day,
)
from apps.trading.services.audit import audit_write

CONFIRM_SECONDS = 30
SIDES = {"buy": "Buy", "sell": "Sell"}
_QUANTITY = re.compile(r"^[0-9]{1,7}$")
_PRICE = re.compile(r"^[0-9]{1,9}(\.[0-9]{1,6})?$")
_ROOT = re.compile(r"^/?([A-Z]{1,4})$")


@dataclass(frozen=True)
class Validated:
    side: str
    contract: str  # our canonical contract code, e.g. ESZ26 (the hot store's name)
    order_symbol: str  # tastytrade's, e.g. /ESZ6
    quantity: int
    price: Decimal
    order_type: str
    time_in_force: str
    last_price: float

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["price"] = str(self.price)
        return data


@dataclass(frozen=True)
class TicketView:
    ticket: TradeTicket
    dry_run: dict[str, Any]
    # The order as validated (prices as plain decimal strings).
    order: dict[str, Any]


# The decisions on an order attempt that `pipeline_trading_attempts_total{decision}` counts (the
# metric catalogue's closed list): refused (by any rule), dry_run, confirmed, cancelled (the
# requester's Cancel), placed, error (the broker failed the placement).
DECISIONS = frozenset(
    {
        TradeAudit.Kind.REFUSED,
        TradeAudit.Kind.DRY_RUN,
        TradeAudit.Kind.CONFIRMED,
        TradeAudit.Kind.CANCELLED,
        TradeAudit.Kind.PLACED,
        TradeAudit.Kind.ERROR,
    }
)


def _decision_write(*, kind: str, requester: Requester, **fields: Any) -> TradeAudit:
    """A decision on an order attempt: its audit row, and the attempt counted by the decision."""
    row = audit_write(kind=kind, requester=requester, **fields)
    if kind in DECISIONS:
        TRADING_ATTEMPTS.labels(kind).inc()
    return row


def _broker(broker: Broker | None) -> Broker:
    if broker is not None:
        return broker
    return Broker(
        broker_target(live_setting=runtime_value("trading.live"), live_accounts=runtime_value("trading.live_accounts"))
    )


def _refuse(
    *,
    rule: str,
    message: str,
    requester: Requester,
    order: dict[str, Any],
    ticket: uuid.UUID | None = None,
    result: dict[str, Any] | None = None,
) -> TradeRefusedError:
    _decision_write(
        kind=TradeAudit.Kind.REFUSED,
        requester=requester,
        rule=rule,
        message=message,
        ticket=ticket,
        order=order,
        result=result,
    )
    return TradeRefusedError(rule, message)


def _kill_switch_read() -> bool:
    """The switch as the database has it now; the gauge follows every read, so each process that
    checks (the bot, the web) reports what it last saw, whoever flipped it."""
    on = kill_switch_on()
    TRADING_KILL_SWITCH.set(1 if on else 0)
    return on


def _check_kill_switch(
    *, checkpoint: str, requester: Requester, order: dict[str, Any], ticket: uuid.UUID | None
) -> None:
    if _kill_switch_read():
        raise _refuse(
            rule="kill_switch",
            message=f"The kill switch is on: no order is placed (checked at {checkpoint}).",
            requester=requester,
            order=order,
            ticket=ticket,
            result={"checkpoint": checkpoint},
        )


def _contract_of(text: str) -> Contract:
    symbol = text.strip().upper()
    root = _ROOT.match(symbol)
    if root:
        return lead_contract(root[1], utc_now())
    return parse_contract(symbol)


def order_symbol_of(contract: Contract) -> str:
    """tastytrade's order symbol: `/` + root + month + one-digit year (`/ESZ6`)."""
    return f"/{contract.root}{MONTH_CODES[contract.month - 1]}{contract.year % 10}"


@dataclass(frozen=True)
class _Check:
    """What a refusal needs to write its audit row."""

    requester: Requester
    order: dict[str, Any]
    ticket: uuid.UUID | None

    def refuse(self, rule: str, message: str, **result: Any) -> TradeRefusedError:
        return _refuse(
            rule=rule, message=message, requester=self.requester, order=self.order, ticket=self.ticket, result=result
        )


def _validate(
    *,
    requester: Requester,
    side: str,
    symbol: str,
    quantity: str,
    price: str,
    order_type: str,
    time_in_force: str,
    broker: Broker,
    order: dict[str, Any],
    ticket: uuid.UUID | None,
    checkpoint: str,
) -> Validated:
    check = _Check(requester, order, ticket)
    refresh_if_stale(force=True)  # the limits in force now, not a cached minute ago
    missing = allowlist_refusal(cog="trading", requester=requester)
    if missing is not None:
        raise check.refuse(f"allowlist_{missing}", f"Trading is not allowed for this {missing} (trading allowlist).")
    _check_kill_switch(checkpoint=checkpoint, requester=requester, order=order, ticket=ticket)
    qty, limit_price = _order_terms(check, side=side, quantity=quantity, price=price)
    _order_kind(check, order_type=order_type, time_in_force=time_in_force)
    contract, order_symbol, last = _instrument(check, symbol=symbol, price=limit_price, broker=broker)
    signed = qty if SIDES[side.lower()] == "Buy" else -qty
    _limits(check, order_symbol=order_symbol, signed=signed, broker=broker)
    return Validated(
        side=SIDES[side.lower()],
        contract=contract.code,
        order_symbol=order_symbol,
        quantity=qty,
        price=limit_price,
        order_type=order_type,
        time_in_force=time_in_force,
        last_price=last,
    )


def _order_terms(check: _Check, *, side: str, quantity: str, price: str) -> tuple[int, Decimal]:
    if side.lower() not in SIDES:
        raise check.refuse("side", f"Side must be buy or sell (got {side!r}).")
    if not _QUANTITY.match(quantity.strip()) or int(quantity) <= 0:
        raise check.refuse("quantity", f"Quantity must be a whole number of contracts above 0 (got {quantity!r}).")
    qty = int(quantity)
    max_qty = int(runtime_value("trading.max_qty_per_order"))
    if qty > max_qty:
        raise check.refuse("max_qty_per_order", f"Quantity {qty} is above the limit of {max_qty} per order.")
    try:
        limit_price = Decimal(price.strip()) if _PRICE.match(price.strip()) else None
    except InvalidOperation:
        limit_price = None
    if limit_price is None or limit_price <= 0:
        raise check.refuse("price", f"Price must be a positive decimal number such as 6000.25 (got {price!r}).")
    return qty, limit_price


def _order_kind(check: _Check, *, order_type: str, time_in_force: str) -> None:
    types = runtime_value("trading.order_types")
    if order_type not in types:
        raise check.refuse("order_type", f"Order type {order_type!r} is not allowed (allowed: {', '.join(types)}).")
    tifs = runtime_value("trading.time_in_force")
    if time_in_force not in tifs:
        raise check.refuse(
            "time_in_force", f"Time in force {time_in_force!r} is not allowed (allowed: {', '.join(tifs)})."
        )


def _instrument(check: _Check, *, symbol: str, price: Decimal, broker: Broker) -> tuple[Contract, str, float]:
    """The contract (allowlisted, known to tastytrade), the price on its tick and in the band."""
    try:
        contract = _contract_of(symbol)
    except SymbolError as error:
        raise check.refuse("symbol", f"Unknown symbol {symbol!r}: {error}") from None
    if contract.root not in runtime_value("trading.symbols"):
        allowed = ", ".join(runtime_value("trading.symbols")) or "none"
        raise check.refuse(
            "symbol_allowlist", f"{contract.root} is not on the trading symbol list (allowed: {allowed})."
        )
    order_symbol = order_symbol_of(contract)
    try:
        instrument = broker.instrument(order_symbol)
    except BrokerError as error:
        raise check.refuse("symbol", f"tastytrade does not know {order_symbol}: {error}") from None
    if not instrument.tradeable:
        raise check.refuse("symbol", f"{order_symbol} is not tradeable at tastytrade.")
    if instrument.tick_size <= 0 or price % instrument.tick_size != 0:
        raise check.refuse("tick", f"Price {price} is not on the tick of {order_symbol} ({instrument.tick_size}).")
    last = last_values(symbol=contract.code).get("price")
    if last is None:
        raise check.refuse(
            "price_band", f"No last trade for {contract.code} in the hot store: the price band cannot be checked."
        )
    band = float(runtime_value("trading.price_band_percent"))
    distance = abs(float(price) - float(last)) / float(last) * 100
    if distance > band:
        raise check.refuse(
            "price_band",
            f"Price {price} is {distance:.2f}% from the last trade {last} (the band is {band:g}%).",
            last=last,
        )
    return contract, order_symbol, float(last)


def _limits(check: _Check, *, order_symbol: str, signed: int, broker: Broker) -> None:
    """The limits against the broker's own positions and realized P&L, and today's placements."""
    try:
        positions = broker.positions()
    except BrokerError as error:
        raise check.refuse("broker_error", f"tastytrade's positions could not be read: {error}") from None
    current = sum(p.quantity for p in positions if p.symbol == order_symbol)
    max_symbol = int(runtime_value("trading.max_position_per_symbol"))
    if abs(current + signed) > max_symbol:
        raise check.refuse(
            "max_position_per_symbol",
            f"The position in {order_symbol} would be {current + signed} (limit {max_symbol} either side).",
            position=current,
        )
    others = sum(abs(p.quantity) for p in positions if p.symbol != order_symbol)
    max_account = int(runtime_value("trading.max_position_per_account"))
    if others + abs(current + signed) > max_account:
        raise check.refuse(
            "max_position_per_account",
            f"The account's positions would total {others + abs(current + signed)} contracts (limit {max_account}).",
        )
    realized = sum((p.realized_today for p in positions), Decimal(0))
    max_loss = Decimal(str(runtime_value("trading.max_daily_loss")))
    if realized <= -max_loss:
        raise check.refuse("max_daily_loss", f"Today's realized loss {-realized} has reached the limit of {max_loss}.")
    placed = orders_placed_since(since=start_of_day())
    max_orders = int(runtime_value("trading.max_orders_per_day"))
    if placed >= max_orders:
        raise check.refuse("max_orders_per_day", f"{placed} orders were placed today (limit {max_orders}).")


def order_request(
    *,
    requester: Requester,
    side: str,
    symbol: str,
    quantity: str,
    price: str,
    order_type: str = "Limit",
    time_in_force: str = "Day",
    broker: Broker | None = None,
) -> TicketView:
    """Validates, dry-runs at tastytrade and returns a ticket awaiting its requester's Confirm."""
    broker = _broker(broker)
    order = {
        "side": side,
        "symbol": symbol,
        "quantity": quantity,
        "price": price,
        "order_type": order_type,
        "time_in_force": time_in_force,
    }
    audit_write(kind=TradeAudit.Kind.ATTEMPT, requester=requester, order=order, environment=broker.target.environment)
    valid = _validate(
        requester=requester,
        side=side,
        symbol=symbol,
        quantity=quantity,
        price=price,
        order_type=order_type,
        time_in_force=time_in_force,
        broker=broker,
        order=order,
        ticket=None,
        checkpoint="validation",
    )
    ticket_id = uuid.uuid4()
    spec = OrderSpec(
        side=valid.side,
        order_symbol=valid.order_symbol,
        quantity=valid.quantity,
        price=valid.price,
        time_in_force=valid.time_in_force,
        external_identifier=f"dp-{ticket_id.hex}",
    )
    full = {**order, **valid.as_json(), "external_identifier": spec.external_identifier}
    try:
        dry = broker.dry_run(spec)
    except BrokerError as error:
        rule = "broker_timeout" if isinstance(error, BrokerTimeoutError) else "broker_error"
        raise _refuse(
            rule=rule, message=f"tastytrade's dry run failed: {error}", requester=requester, order=full
        ) from None
    if dry["errors"]:
        raise _refuse(
            rule="broker_dry_run",
            message="tastytrade's dry run refused the order: " + "; ".join(dry["errors"]),
            requester=requester,
            order=full,
            result=dry,
        )
    _decision_write(
        kind=TradeAudit.Kind.DRY_RUN, requester=requester, order=full, result=dry, environment=broker.target.environment
    )
    now = utc_now()
    ticket = TradeTicket.objects.create(
        id=ticket_id,
        created_at=now,
        expires_at=now + timedelta(seconds=CONFIRM_SECONDS),
        user=requester.user,
        guild=requester.guild,
        channel=requester.channel,
        roles=list(requester.roles),
        side=valid.side,
        symbol=symbol,
        order_symbol=valid.order_symbol,
        quantity=valid.quantity,
        price=valid.price,
        order_type=valid.order_type,
        time_in_force=valid.time_in_force,
        external_identifier=spec.external_identifier,
        environment=broker.target.environment,
        account=broker.target.account,
    )
    audit_write(kind=TradeAudit.Kind.AWAITING, requester=requester, ticket=ticket.id, order=full, result=dry)
    return TicketView(ticket=ticket, dry_run=dry, order=full)


def _plain(price: Decimal | None) -> Decimal:
    """A stored price without the column's trailing zeros (6000.250000 -> 6000.25, 6000 -> 6000)."""
    value = Decimal(price or 0)
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def _ticket_order(ticket: TradeTicket) -> dict[str, Any]:
    return {
        "side": ticket.side,
        "symbol": ticket.symbol,
        "order_symbol": ticket.order_symbol,
        "quantity": ticket.quantity,
        "price": str(_plain(ticket.price)),
        "order_type": ticket.order_type,
        "time_in_force": ticket.time_in_force,
        "external_identifier": ticket.external_identifier,
        "account": ticket.account,
    }


def _ticket_for(*, ticket_id: uuid.UUID, requester: Requester, action: str) -> TradeTicket:
    ticket = TradeTicket.objects.filter(pk=ticket_id).first()
    if ticket is None:
        raise _refuse(
            rule="ticket_unknown",
            message="This order is unknown.",
            requester=requester,
            order={"ticket": str(ticket_id)},
        )
    if ticket.user != requester.user:
        raise _refuse(
            rule="foreign_confirmation",
            message=f"Only the requester may {action} this order.",
            requester=requester,
            order=_ticket_order(ticket),
            ticket=ticket.id,
        )
    return ticket


def order_confirm(*, ticket_id: uuid.UUID, requester: Requester, broker: Broker | None = None) -> TradeTicket:
    """The requester's Confirm: validated again, then placed once (see `order_submit`)."""
    broker = _broker(broker)
    ticket = _ticket_for(ticket_id=ticket_id, requester=requester, action="confirm")
    order = _ticket_order(ticket)
    if ticket.state != TradeTicket.State.PENDING:
        raise _refuse(
            rule="duplicate_confirmation",
            message=f"This order was already {ticket.state}.",
            requester=requester,
            order=order,
            ticket=ticket.id,
        )
    if utc_now() >= ticket.expires_at:
        TradeTicket.objects.filter(pk=ticket.pk, state=TradeTicket.State.PENDING).update(
            state=TradeTicket.State.EXPIRED
        )
        raise _refuse(
            rule="expired",
            message=f"This confirmation expired ({CONFIRM_SECONDS} s); send the order again.",
            requester=requester,
            order=order,
            ticket=ticket.id,
        )
    _check_kill_switch(checkpoint="confirmation", requester=requester, order=order, ticket=ticket.id)
    # One confirmation wins: a double click or two processes change the state once only.
    won = TradeTicket.objects.filter(pk=ticket.pk, state=TradeTicket.State.PENDING).update(
        state=TradeTicket.State.CONFIRMED
    )
    if not won:
        raise _refuse(
            rule="duplicate_confirmation",
            message="This order was already confirmed.",
            requester=requester,
            order=order,
            ticket=ticket.id,
        )
    _decision_write(kind=TradeAudit.Kind.CONFIRMED, requester=requester, ticket=ticket.id, order=order)
    try:
        _validate(
            requester=Requester(
                user=requester.user,
                guild=requester.guild,
                channel=requester.channel,
                roles=requester.roles,
                is_admin=requester.is_admin,
                source=requester.source,
            ),
            side=ticket.side,
            symbol=ticket.order_symbol,
            quantity=str(ticket.quantity),
            price=str(_plain(ticket.price)),
            order_type=ticket.order_type,
            time_in_force=ticket.time_in_force,
            broker=broker,
            order=order,
            ticket=ticket.id,
            checkpoint="confirmation",
        )
    except TradeRefusedError:
        TradeTicket.objects.filter(pk=ticket.pk).update(state=TradeTicket.State.REFUSED)
        raise
    if runtime_value("trading.dry_run_only"):
        TradeTicket.objects.filter(pk=ticket.pk).update(state=TradeTicket.State.REFUSED)
        raise _refuse(
            rule="dry_run_only",
            message="Trading is dry-run only (runtime setting trading.dry_run_only): nothing was placed.",
            requester=requester,
            order=order,
            ticket=ticket.id,
        )
    return order_submit(ticket_id=ticket.id, requester=requester, broker=broker)


def order_submit(*, ticket_id: uuid.UUID, requester: Requester, broker: Broker | None = None) -> TradeTicket:
    """Places a confirmed ticket's order exactly once: the ticket row is locked for the call, a
    placed ticket returns as it is, and an order already carrying the ticket's external
    identifier at the broker (a placement whose answer was lost) is taken instead of a new one.
    Decisions are taken under the lock; their audit rows are written after it (a refusal must
    not roll its own row back)."""
    broker = _broker(broker)
    refusal: tuple[str, str, dict[str, Any]] | None = None
    failure: BrokerError | None = None
    placed: dict[str, Any] = {}
    found = None
    with transaction.atomic():
        ticket = TradeTicket.objects.select_for_update().get(pk=ticket_id)
        order = _ticket_order(ticket)
        if ticket.state == TradeTicket.State.PLACED:
            return ticket
        if ticket.state not in (TradeTicket.State.CONFIRMED, TradeTicket.State.SUBMITTING):
            refusal = ("not_confirmed", f"This order is {ticket.state}, not confirmed: nothing was placed.", {})
        elif _kill_switch_read():
            refusal = (
                "kill_switch",
                "The kill switch is on: no order is placed (checked at submit).",
                {"checkpoint": "submit"},
            )
        else:
            spec = OrderSpec(
                side=ticket.side,
                order_symbol=ticket.order_symbol,
                quantity=ticket.quantity,
                price=_plain(ticket.price),
                time_in_force=ticket.time_in_force,
                external_identifier=ticket.external_identifier,
            )
            try:
                found = broker.order_by_external_identifier(ticket.external_identifier)
                placed = found if found is not None else broker.place(spec)
            except BrokerError as error:
                failure = error
                # After a timeout the order may have been placed: SUBMITTING makes a retry look first.
                timeout = isinstance(error, BrokerTimeoutError)
                ticket.state = TradeTicket.State.SUBMITTING if timeout else TradeTicket.State.FAILED
                ticket.save(update_fields=["state"])
            else:
                ticket.state = TradeTicket.State.PLACED
                ticket.order_id = str(placed["order_id"])
                ticket.last_status = str(placed.get("status", ""))
                ticket.save(update_fields=["state", "order_id", "last_status"])
    if refusal is not None:
        rule, message, result = refusal
        raise _refuse(rule=rule, message=message, requester=requester, order=order, ticket=ticket.id, result=result)
    if failure is not None:
        timeout = isinstance(failure, BrokerTimeoutError)
        rule = "broker_timeout" if timeout else "broker_error"
        _decision_write(
            kind=TradeAudit.Kind.ERROR,
            requester=requester,
            rule=rule,
            message=str(failure),
            ticket=ticket.id,
            order=order,
            environment=ticket.environment,
        )
        raise TradeRefusedError(
            rule,
            f"tastytrade did not take the order: {failure}"
            + (" (it may have been placed: a retry looks it up by its identifier first)" if timeout else ""),
        )
    _decision_write(
        kind=TradeAudit.Kind.PLACED,
        requester=requester,
        ticket=ticket.id,
        order=order,
        result={**placed, "found_by_external_identifier": found is not None},
        order_id=ticket.order_id,
        environment=ticket.environment,
    )
    return ticket


def ticket_cancel(*, ticket_id: uuid.UUID, requester: Requester) -> TradeTicket:
    """The requester's Cancel button: the ticket will never be placed."""
    ticket = _ticket_for(ticket_id=ticket_id, requester=requester, action="cancel")
    changed = TradeTicket.objects.filter(pk=ticket.pk, state=TradeTicket.State.PENDING).update(
        state=TradeTicket.State.CANCELLED
    )
    if not changed:
        raise _refuse(
            rule="duplicate_confirmation",
            message=f"This order was already {ticket.state}.",
            requester=requester,
            order=_ticket_order(ticket),
            ticket=ticket.id,
        )
    _decision_write(kind=TradeAudit.Kind.CANCELLED, requester=requester, ticket=ticket.id, order=_ticket_order(ticket))
    ticket.refresh_from_db()
    return ticket


def order_status_follow(*, ticket_id: uuid.UUID, broker: Broker | None = None) -> tuple[str, str] | None:
    """The order's status at the broker; (old, new) with an audit row when it changed, else None."""
    broker = _broker(broker)
    ticket = TradeTicket.objects.get(pk=ticket_id)
    if not ticket.order_id:
        return None
    status = broker.order_status(ticket.order_id)
    if status == ticket.last_status:
        return None
    old = ticket.last_status
    TradeTicket.objects.filter(pk=ticket.pk).update(last_status=status)
    audit_write(
        kind=TradeAudit.Kind.STATUS,
        requester=Requester(user=ticket.user, guild=ticket.guild, channel=ticket.channel),
        ticket=ticket.id,
        order=_ticket_order(ticket),
        result={"from": old, "to": status},
        order_id=ticket.order_id,
        environment=ticket.environment,
    )
    return old, status


def order_cancel(*, ticket_id: uuid.UUID, requester: Requester, broker: Broker | None = None) -> None:
    """Cancels a placed order at the broker (allowed while the kill switch is on)."""
    broker = _broker(broker)
    ticket = _ticket_for(ticket_id=ticket_id, requester=requester, action="cancel")
    missing = allowlist_refusal(cog="trading", requester=requester)
    if missing is not None:
        raise _refuse(
            rule=f"allowlist_{missing}",
            message=f"Trading is not allowed for this {missing} (trading allowlist).",
            requester=requester,
            order=_ticket_order(ticket),
            ticket=ticket.id,
        )
    if not ticket.order_id:
        raise _refuse(
            rule="not_placed",
            message="This order was never placed.",
            requester=requester,
            order=_ticket_order(ticket),
            ticket=ticket.id,
        )
    try:
        broker.cancel(ticket.order_id)
    except BrokerError as error:
        audit_write(
            kind=TradeAudit.Kind.ERROR, requester=requester, rule="broker_error", message=str(error), ticket=ticket.id
        )
        raise TradeRefusedError("broker_error", f"tastytrade did not cancel the order: {error}") from None
    audit_write(
        kind=TradeAudit.Kind.ORDER_CANCEL,
        requester=requester,
        ticket=ticket.id,
        order=_ticket_order(ticket),
        order_id=ticket.order_id,
    )
