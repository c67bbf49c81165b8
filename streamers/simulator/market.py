"""A small market model: Poisson order arrivals with bursts, a 10-level book per symbol that
stays consistent with the trades and quotes it prints, 0.25 price ticks.

Pure and deterministic: the same seed and clock give the same messages. Messages are the
simulator's own wire format (JSON-ready dicts), parsed by `parsing.py` like any feed's.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from apps.core.clock import EXCHANGE_TZ
from apps.core.sessions import Session, session_at

TICK = 0.25
LEVELS = 10
# Bursts of activity: about one a minute, 1-5 s long, at five times the rate.
BURSTS_PER_SECOND = 1 / 60
BURST_FACTOR = 5.0
START_PRICES = {"ES": 6000.0, "MES": 6000.0, "NQ": 21000.0, "MNQ": 21000.0, "YM": 44000.0, "RTY": 2400.0}


def _root(symbol: str) -> str:
    for root in sorted(START_PRICES, key=len, reverse=True):
        if symbol.startswith(root):
            return root
    return ""


class Globex(StrEnum):
    REGULAR = "regular"  # the cash session: most of the day's volume
    OVERNIGHT = "overnight"
    CLOSED = "closed"


# Trade intensity relative to the regular session.
SESSION_ACTIVITY = {Globex.REGULAR: 1.0, Globex.OVERNIGHT: 0.2, Globex.CLOSED: 0.0}


def globex_session(moment: datetime) -> Globex:
    """CME Globex equity-index hours: Sunday 18:00 to Friday 17:00 New York time, with a
    daily pause from 17:00 to 18:00; the regular session follows the exchange calendar."""
    local = moment.astimezone(EXCHANGE_TZ)
    weekday, hour = local.weekday(), local.hour
    if weekday == 5 or (weekday == 6 and hour < 18) or (weekday == 4 and hour >= 17) or hour == 17:
        return Globex.CLOSED
    if session_at(moment) is Session.REGULAR:
        return Globex.REGULAR
    return Globex.OVERNIGHT


def next_open(moment: datetime) -> datetime:
    """The next instant Globex trades (a minute-by-minute search; at most ~49 hours away)."""
    probe = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while globex_session(probe) is Globex.CLOSED:
        probe += timedelta(minutes=30 if probe.minute in (0, 30) else 1)
    return probe


@dataclass
class Book:
    symbol: str
    bid: float
    bids: list[int] = field(default_factory=list)  # sizes at bid, bid - 1 tick, ...
    asks: list[int] = field(default_factory=list)  # sizes at ask, ask + 1 tick, ...

    @property
    def ask(self) -> float:
        return self.bid + TICK

    def levels(self) -> dict[str, list[list[float]]]:
        return {
            "bids": [[self.bid - i * TICK, size] for i, size in enumerate(self.bids)],
            "asks": [[self.ask + i * TICK, size] for i, size in enumerate(self.asks)],
        }


class SimulatedMarket:
    """Generates the messages of one feed for several symbols.

    `rate` is the mean number of trades per second per symbol in normal times; bursts
    (a few seconds at 5x) start at random, as after news or at the open.
    """

    def __init__(
        self,
        *,
        symbols: list[str],
        seed: int = 7,
        rate: float = 20.0,
        snapshot_every: float = 1.0,
        sessions: bool = False,
    ) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - a simulation, not cryptography
        self.rate = rate
        # With sessions on, activity follows Globex hours and stops while it is closed.
        self.sessions = sessions
        self.snapshot_every = snapshot_every
        self.books: dict[str, Book] = {}
        self.seq = 0
        self.burst_until = 0.0
        self.last_intensity_at: float | None = None
        self.last_snapshot: dict[str, float] = {}
        for symbol in symbols:
            self.add_symbol(symbol)

    def add_symbol(self, symbol: str) -> None:
        if symbol in self.books:
            return
        start = START_PRICES.get(_root(symbol), 100.0)
        self.books[symbol] = Book(
            symbol, start, [self._size() for _ in range(LEVELS)], [self._size() for _ in range(LEVELS)]
        )

    def set_symbols(self, symbols: list[str]) -> None:
        for symbol in symbols:
            self.add_symbol(symbol)
        for symbol in list(self.books):
            if symbol not in symbols:
                del self.books[symbol]

    def _size(self) -> int:
        return 5 + int(self.rng.expovariate(1 / 40))

    def intensity(self, now: float) -> float:
        """Trades per second across all symbols at `now` (seconds)."""
        # Bursts start at BURSTS_PER_SECOND in time, not per trade: a chance per trade would
        # keep a high --rate in a burst almost all the time and multiply it fivefold.
        last = now if self.last_intensity_at is None else self.last_intensity_at
        elapsed, self.last_intensity_at = max(0.0, now - last), now
        if now >= self.burst_until and self.rng.random() < -math.expm1(-BURSTS_PER_SECOND * elapsed):
            self.burst_until = now + self.rng.uniform(1, 5)
        burst = BURST_FACTOR if now < self.burst_until else 1.0
        activity = SESSION_ACTIVITY[globex_session(datetime.fromtimestamp(now, tz=UTC))] if self.sessions else 1.0
        return self.rate * burst * activity * max(1, len(self.books))

    def next_gap(self, now: float) -> float:
        """Seconds to the next trade: exponential inter-arrival times (a Poisson process);
        while Globex is closed, the time until it opens."""
        intensity = self.intensity(now)
        if intensity == 0:
            return next_open(datetime.fromtimestamp(now, tz=UTC)).timestamp() - now
        return self.rng.expovariate(intensity)

    def step(self, now_ns: int) -> list[dict[str, Any]]:
        """Messages for one trade arrival at `now_ns`: the trade, the book changes it causes,
        the new quote, liquidity refilling, and a periodic full snapshot."""
        if not self.books:
            return []
        symbol = self.rng.choice(sorted(self.books))
        book = self.books[symbol]
        messages: list[dict[str, Any]] = []
        buy = self.rng.random() < 0.5
        size = 1 + int(self.rng.expovariate(1 / 3))
        levels, price = (book.asks, book.ask) if buy else (book.bids, book.bid)
        self.seq += 1
        messages.append(
            {
                "type": "trade",
                "sym": symbol,
                "t": now_ns,
                "px": price,
                "sz": size,
                "side": "B" if buy else "S",
                "seq": self.seq,
            }
        )
        levels[0] -= size
        if levels[0] > 0:
            messages.append(
                {"type": "level", "sym": symbol, "t": now_ns, "side": "A" if buy else "B", "px": price, "sz": levels[0]}
            )
        else:
            # The best level is gone: the price moves a tick and a new level appears at the far end.
            messages.append(
                {"type": "level", "sym": symbol, "t": now_ns, "side": "A" if buy else "B", "px": price, "sz": 0}
            )
            levels.pop(0)
            levels.append(self._size())
            if buy:
                book.bid += TICK
                book.bids.insert(0, self._size())
                book.bids.pop()
            else:
                book.bid -= TICK
                book.asks.insert(0, self._size())
                book.asks.pop()
            messages.append({"type": "book", "sym": symbol, "t": now_ns, **book.levels()})
            self.last_snapshot[symbol] = now_ns / 1e9
        if self.rng.random() < 0.3:  # liquidity providers refill the other side
            side = book.bids if buy else book.asks
            index = self.rng.randrange(LEVELS)
            side[index] += self._size() // 4
            px = book.bid - index * TICK if buy else book.ask + index * TICK
            messages.append(
                {"type": "level", "sym": symbol, "t": now_ns, "side": "B" if buy else "A", "px": px, "sz": side[index]}
            )
        messages.append(
            {
                "type": "quote",
                "sym": symbol,
                "t": now_ns,
                "bid": book.bid,
                "bsz": book.bids[0],
                "ask": book.ask,
                "asz": book.asks[0],
            }
        )
        if now_ns / 1e9 - self.last_snapshot.get(symbol, -math.inf) >= self.snapshot_every:
            messages.append({"type": "book", "sym": symbol, "t": now_ns, **book.levels()})
            self.last_snapshot[symbol] = now_ns / 1e9
        return messages
