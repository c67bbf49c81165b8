"""A 10-level book changing RATE times a second, written to the hot store by the real writer
(HotStoreWriter, batches every 10 ms, as a streamer writes), with a few trades at the inside
market. It starts with one snapshot and then sends only level updates, so a reader that misses
one shows a wrong book. When it ends it writes the final book as JSON to --final.

    .venv/bin/python -m bench.depth_load --symbol ESZ26 --rate 1000 --seconds 10 [--final book.json]

Used by tests/browser/test_depth.py and bench/depth_frames.py (with the Redis of REDIS_URL).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import time
from pathlib import Path

FEED = "test"
LEVELS = 10
TICK = 0.25
BATCH_SECONDS = 0.01


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pipeline_project.settings.local")
    import django

    django.setup()


class MovingBook:
    """LEVELS contiguous ticks a side around a mid that drifts a tick at a time."""

    def __init__(self, *, seed: int, mid: float) -> None:
        self.random = random.Random(seed)  # noqa: S311 - a repeatable market, not a secret
        self.best_bid = mid - TICK / 2 - (mid - TICK / 2) % TICK
        self.bids = {self.best_bid - k * TICK: self.size() for k in range(LEVELS)}
        self.asks = {self.best_bid + TICK + k * TICK: self.size() for k in range(LEVELS)}

    def size(self) -> int:
        return self.random.randint(1, 400)

    def changes(self) -> list[tuple[str, float, int]]:
        """The next change as level operations (side, price, size; 0 removes the level)."""
        if self.random.random() < 0.02:
            return self.shift(1 if self.random.random() < 0.5 else -1)
        side = "buy" if self.random.random() < 0.5 else "sell"
        levels = self.bids if side == "buy" else self.asks
        price = self.random.choice(list(levels))
        levels[price] = self.size()
        return [(side, price, levels[price])]

    def shift(self, ticks: int) -> list[tuple[str, float, int]]:
        """The whole book moves a tick: a level leaves the far end of one side, one joins the other."""
        self.best_bid += ticks * TICK
        ops: list[tuple[str, float, int]] = []
        for side, levels, start in (
            ("buy", self.bids, self.best_bid),
            ("sell", self.asks, self.best_bid + TICK),
        ):
            wanted = {start - k * TICK if side == "buy" else start + k * TICK for k in range(LEVELS)}
            for price in sorted(set(levels) - wanted):
                del levels[price]
                ops.append((side, price, 0))
            for price in sorted(wanted - set(levels)):
                levels[price] = self.size()
                ops.append((side, price, levels[price]))
        return ops

    def final(self) -> dict[str, list[list[float]]]:
        return {
            "bids": [[price, size] for price, size in sorted(self.bids.items(), reverse=True)],
            "asks": [[price, size] for price, size in sorted(self.asks.items())],
        }


async def depth_load(*, symbol: str, rate: int, seconds: float, seed: int, mid: float, trades_per_second: int) -> dict:
    from django.conf import settings

    from apps.core.redis import get_async_redis
    from apps.marketdata.events import DepthSnapshot, DepthUpdate, Level, Side, Trade
    from apps.marketdata.services.streams import HotStoreWriter

    client = get_async_redis(settings.REDIS_URL)
    writer = HotStoreWriter(client, feed=FEED)
    book = MovingBook(seed=seed, mid=mid)
    sides = {"buy": Side.BUY, "sell": Side.SELL}
    updates = trades = 0
    try:
        now = time.time_ns()
        await writer.write(
            [
                DepthSnapshot(
                    symbol,
                    now,
                    now,
                    tuple(Level(p, s) for p, s in sorted(book.bids.items(), reverse=True)),
                    tuple(Level(p, s) for p, s in sorted(book.asks.items())),
                    FEED,
                )
            ]
        )
        started = time.monotonic()
        while (elapsed := time.monotonic() - started) < seconds:
            events: list = []
            now = time.time_ns()
            while updates < int(elapsed * rate):
                for side, price, size in book.changes():
                    events.append(DepthUpdate(symbol, now, now, sides[side], price, size, FEED))
                updates += 1
            while trades < int(elapsed * trades_per_second):
                buy = book.random.random() < 0.5
                price = book.best_bid + TICK if buy else book.best_bid
                events.append(
                    Trade(
                        symbol, now, now, price, book.random.randint(1, 5), Side.BUY if buy else Side.SELL, FEED, trades
                    )
                )
                trades += 1
            if events:
                result = await writer.write(events)
                if result.rejected:
                    raise RuntimeError(f"the hot store refused a batch: {result.rejected[0][1]}")
            await asyncio.sleep(BATCH_SECONDS)
    finally:
        await client.aclose()
    return {"symbol": symbol, "updates": updates, "trades": trades, **book.final()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--symbol", required=True)
    parser.add_argument("--rate", type=int, default=1000, help="book changes a second")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--mid", type=float, default=6000.0)
    parser.add_argument("--trades", type=int, default=20, help="trades a second")
    parser.add_argument("--final", type=Path, help="write the final book here as JSON")
    args = parser.parse_args()
    _setup_django()
    final = asyncio.run(
        depth_load(
            symbol=args.symbol,
            rate=args.rate,
            seconds=args.seconds,
            seed=args.seed,
            mid=args.mid,
            trades_per_second=args.trades,
        )
    )
    if args.final:
        args.final.write_text(json.dumps(final))
    print(f"depth_load: {final['updates']} book changes and {final['trades']} trades of {args.symbol}")


if __name__ == "__main__":
    main()
