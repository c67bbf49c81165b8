"""tastytrade through its SDK (tastytrade 13.2.3), for the bot's orders: instruments, dry runs,
placement with an external identifier, order status, positions, cancels.

Which API is used is decided in one place (`broker_target`): the sandbox (certification) API
unless TRADING_LIVE=true AND the runtime setting trading.live AND the account is in
trading.live_accounts. A broker error becomes BrokerError (its message, secrets redacted); no
answer in time becomes BrokerTimeoutError, after which nobody knows whether an order was placed:
the caller looks the order up by its external identifier before trying again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

import httpx2
from django.conf import settings
from tastytrade import Account, Session
from tastytrade.instruments import Future
from tastytrade.order import LimitOrder, OrderAction, OrderTimeInForce
from tastytrade.utils import TastytradeError

from apps.core.redaction import redact

T = TypeVar("T")
TIMEOUT_SECONDS = 10.0


class BrokerError(Exception):
    """tastytrade refused the request; the message is its answer."""


class BrokerTimeoutError(BrokerError):
    """tastytrade did not answer in time (or could not be reached)."""


@dataclass(frozen=True)
class BrokerTarget:
    environment: str  # "sandbox" or "live"
    api_url: str
    account: str


@dataclass(frozen=True)
class Instrument:
    order_symbol: str
    tick_size: Decimal
    tradeable: bool


@dataclass(frozen=True)
class Position:
    symbol: str
    quantity: int  # signed: short is negative
    realized_today: Decimal


@dataclass(frozen=True)
class OrderSpec:
    side: str  # "Buy" or "Sell"
    order_symbol: str
    quantity: int
    price: Decimal
    time_in_force: str
    external_identifier: str

    def sdk_order(self) -> LimitOrder:
        future = Future.model_construct(symbol=self.order_symbol)
        leg = future.build_leg(Decimal(self.quantity), OrderAction.BUY if self.side == "Buy" else OrderAction.SELL)
        # Negative = debit (a buy), positive = credit (a sell): the SDK's price sign.
        price = -self.price if self.side == "Buy" else self.price
        return LimitOrder(
            legs=[leg],
            price=price,
            time_in_force=OrderTimeInForce(self.time_in_force),
            external_identifier=self.external_identifier,
        )


def broker_target(*, live_setting: bool, live_accounts: list[str]) -> BrokerTarget:
    env = settings.ENV
    account = env.TRADING_ACCOUNT
    if env.TRADING_LIVE and live_setting and account in live_accounts:
        return BrokerTarget("live", env.TASTYTRADE_API_URL, account)
    return BrokerTarget("sandbox", env.TRADING_SANDBOX_API_URL, account)


class Broker:
    """One call = one SDK session (an OAuth refresh, then the request), run to completion."""

    def __init__(self, target: BrokerTarget, *, timeout: float = TIMEOUT_SECONDS) -> None:
        self.target = target
        self.timeout = timeout

    def _call(self, work: Callable[[Session], Awaitable[T]]) -> T:
        return asyncio.run(self._session_call(work))

    async def _session_call(self, work: Callable[[Session], Awaitable[T]]) -> T:
        env = settings.ENV
        session = Session(
            provider_secret=env.TASTYTRADE_CLIENT_SECRET.get_secret_value(),
            refresh_token=env.TASTYTRADE_REFRESH_TOKEN.get_secret_value(),
            timeout=self.timeout,
        )
        session._client.base_url = httpx2.URL(self.target.api_url)
        try:
            await session.refresh()
            return await work(session)
        except TastytradeError as error:
            raise BrokerError(redact(str(error).strip()) or "tastytrade refused the request") from None
        except (httpx2.TimeoutException, TimeoutError):
            raise BrokerTimeoutError(f"tastytrade did not answer within {self.timeout:g} s") from None
        except (httpx2.TransportError, OSError) as error:
            raise BrokerTimeoutError(f"tastytrade could not be reached: {type(error).__name__}") from None
        finally:
            await session._client.aclose()

    async def _account(self, session: Session) -> Account:
        accounts = await Account.get(session)
        for account in accounts:
            if account.account_number == self.target.account:
                return account
        raise BrokerError(f"account {self.target.account!r} (TRADING_ACCOUNT) is not one of this login's accounts")

    def instrument(self, order_symbol: str) -> Instrument:
        async def work(session: Session) -> Instrument:
            future = await Future.get(session, order_symbol)
            return Instrument(order_symbol, Decimal(future.tick_size), bool(future.is_tradeable))

        return self._call(work)

    def dry_run(self, spec: OrderSpec) -> dict[str, Any]:
        async def work(session: Session) -> dict[str, Any]:
            account = await self._account(session)
            response = await account.place_order(session, spec.sdk_order(), dry_run=True)
            return _summary(response)

        return self._call(work)

    def place(self, spec: OrderSpec) -> dict[str, Any]:
        async def work(session: Session) -> dict[str, Any]:
            account = await self._account(session)
            response = await account.place_order(session, spec.sdk_order(), dry_run=False)
            summary = _summary(response)
            summary["order_id"] = str(response.order.id)
            summary["status"] = str(response.order.status.value)
            return summary

        return self._call(work)

    def order_by_external_identifier(self, external_identifier: str) -> dict[str, Any] | None:
        """The order of the day carrying this identifier (a placement whose answer was lost), or None."""

        async def work(session: Session) -> dict[str, Any] | None:
            data = await session._get(f"/accounts/{self.target.account}/orders", params={"per-page": 250})
            for item in data.get("items", []):
                if item.get("external-identifier") == external_identifier:
                    return {"order_id": str(item["id"]), "status": str(item.get("status", ""))}
            return None

        return self._call(work)

    def order_status(self, order_id: str) -> str:
        async def work(session: Session) -> str:
            account = await self._account(session)
            order = await account.get_order(session, int(order_id))
            return str(order.status.value)

        return self._call(work)

    def cancel(self, order_id: str) -> None:
        async def work(session: Session) -> None:
            account = await self._account(session)
            await account.delete_order(session, int(order_id))

        self._call(work)

    def positions(self) -> list[Position]:
        async def work(session: Session) -> list[Position]:
            account = await self._account(session)
            rows = await account.get_positions(session)
            return [
                Position(
                    symbol=row.symbol,
                    quantity=int(row.quantity) * (-1 if row.quantity_direction == "Short" else 1),
                    realized_today=Decimal(row.realized_today),
                )
                for row in rows
            ]

        return self._call(work)


def _summary(response: Any) -> dict[str, Any]:
    effect = response.buying_power_effect
    fees = response.fee_calculation
    return {
        "buying_power_change": str(effect.change_in_buying_power) if effect else None,
        "margin_change": str(effect.change_in_margin_requirement) if effect else None,
        "new_buying_power": str(effect.new_buying_power) if effect else None,
        "fees": str(fees.total_fees) if fees else None,
        "warnings": [f"{w.code}: {w.message}" for w in (response.warnings or [])],
        "errors": [f"{e.code}: {e.message}" for e in (response.errors or [])],
    }
