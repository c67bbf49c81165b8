"""Alert engine benchmark: 100 enabled rules against Unusual Whales option trades, one core.

N option trades (captured shape, ../shared/reference/protocols.md §3.2, with tickers, premiums,
sides, expiries and flags drawn from a seeded generator) are parsed and stored as the UW streamer
stores them (`apps.uw.services.hot_store.uw_events_write` into `uw:option_trade:{UW}`); then
the real engine (`AlertEngine.step`: exactly-once reader, decode, `RuleBook.evaluate`, recording
the matches in the database, XACK) reads the whole stream. Reference, same run: the same engine
and stream with no enabled rule, which reads and acknowledges without evaluating (the no-rule
consume rate). Deliveries are not part of it (the rules have no actions): they run beside the
loop in their own threads.

    DATABASE_URL=postgres://... .venv/bin/python -m bench.alerts --redis redis://127.0.0.1:6379/8 [--messages 200000]

Flushes that Redis database, and deletes every alert rule and alert of that database.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pipeline_project.settings.local")
django.setup()

import redis  # noqa: E402
from django.conf import settings  # noqa: E402

from apps.alerts.engine import AlertEngine  # noqa: E402
from apps.alerts.models import AlertEvent, AlertRule  # noqa: E402
from apps.alerts.services import rule_save  # noqa: E402
from apps.core import keys  # noqa: E402
from apps.core.codec import dumps  # noqa: E402
from apps.uw.parsing import option_trade_parse  # noqa: E402
from apps.uw.services.hot_store import uw_events_write  # noqa: E402

TICKERS = [
    "SPX",
    "SPXW",
    "SPY",
    "QQQ",
    "IWM",
    "NVDA",
    "TSLA",
    "AAPL",
    "AMZN",
    "META",
    "MSFT",
    "AMD",
    "GOOGL",
    "NFLX",
    "COIN",
    "MSTR",
    "PLTR",
    "SMCI",
    "UVIX",
    "TLT",
    "XLF",
    "GLD",
    "SLV",
    "BA",
    "DIS",
    "JPM",
]
BASE_MS = 1726666200000  # 2024-09-18 13:30 UTC, the regular session's open


def trades(count: int, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)  # noqa: S311 - seeded test data, not secrets
    out = []
    for index in range(count):
        ticker = rng.choice(TICKERS)
        spot = rng.uniform(20, 600)
        call = rng.random() < 0.55
        strike = round(spot * rng.uniform(0.85, 1.15), 1)
        size = max(1, int(rng.lognormvariate(1.0, 1.2)))
        price = max(0.01, round(rng.lognormvariate(0.0, 1.1), 2))
        expiry = rng.choice(["240918", "240918", "240919", "240920", "240927", "241018"])
        out.append(
            dumps(
                {
                    "id": f"bench-{index}",
                    "underlying_symbol": ticker,
                    "executed_at": BASE_MS + index * 5,
                    "nbbo_bid": f"{price * 0.98:.2f}",
                    "nbbo_ask": f"{price * 1.02:.2f}",
                    "size": size,
                    "price": f"{price:.2f}",
                    "option_symbol": f"{ticker}{expiry}{'C' if call else 'P'}{int(strike * 1000):08d}",
                    "created_at": BASE_MS + index * 5 + 40,
                    "report_flags": ["sweep"] if rng.random() < 0.05 else [],
                    "tags": [rng.choice(["ask_side", "bid_side", "mid_side"]), rng.choice(["bullish", "bearish"])],
                    "expiry": f"20{expiry[:2]}-{expiry[2:4]}-{expiry[4:]}",
                    "option_type": "call" if call else "put",
                    "open_interest": rng.randint(500, 50000),
                    "strike": f"{strike:.10f}",
                    "premium": f"{price * size * 100:.2f}",
                    "volume": rng.randint(1, 5000),
                    "underlying_price": f"{spot:.4f}",
                    "implied_volatility": "0.31",
                    "delta": "0.42",
                    "trade_code": "isoi" if rng.random() < 0.02 else ("mlet" if rng.random() < 0.05 else "slan"),
                    "exchange": "XCBO",
                    "multi_vol": 0,
                }
            )
        )
    return out


def rules_create() -> None:
    """100 rules a desk could run: per-ticker whale prints, sweeps, 0DTE, unusual volume."""
    rng = random.Random(11)  # noqa: S311 - seeded test data, not secrets
    for number in range(100):
        kind = number % 5
        tickers = rng.sample(TICKERS, rng.randint(1, 3))
        conditions: list[dict[str, object]]
        if kind == 0:
            conditions = [{"kind": "ticker_in", "tickers": tickers}, {"kind": "premium_at_least", "min": "250000"}]
        elif kind == 1:
            conditions = [
                {"kind": "ticker_in", "tickers": tickers},
                {"kind": "flag", "flag": "sweep"},
                {"kind": "side", "side": "ask"},
                {"kind": "option_type", "type": rng.choice(["call", "put"])},
            ]
        elif kind == 2:
            conditions = [
                {"kind": "ticker_in", "tickers": tickers},
                {"kind": "dte", "min": 0, "max": 0},
                {"kind": "premium_at_least", "min": "50000"},
            ]
        elif kind == 3:
            conditions = [
                {"kind": "ticker_in", "tickers": tickers},
                {"kind": "volume_oi_ratio", "min": 5},
                {"kind": "otm_percent", "min": 5},
            ]
        else:  # market-wide: no ticker set
            conditions = [
                {"kind": "premium_at_least", "min": str(500000 + 10000 * number)},
                {"kind": "side", "side": rng.choice(["ask", "bid"])},
            ]
        rule_save(
            data={
                "name": f"bench rule {number}",
                "source": "uw_option_trades",
                "conditions": conditions,
                "session": "regular" if number % 2 else "any",
                "cooldown_seconds": 60 if number % 3 else 300,
                "dedup_seconds": 300 if number % 4 == 0 else 0,
            }
        )


def run(client: redis.Redis, payloads: list[bytes]) -> tuple[float, float]:
    """Messages per second of one engine reading the whole stream: per second of wall-clock time,
    and per second of the engine process's CPU time (what one core of its own would give on a
    machine whose other sessions take turns on the cores; Redis and PostgreSQL excluded)."""
    client.flushdb()
    client.set(keys.ALERTS_ENGINE_SINCE, "0")
    # As the UW streamer stores them: parsed into OptionTrade events, batches of 500.
    events = [option_trade_parse(payload, ts_recv=time.time_ns()) for payload in payloads]
    for start in range(0, len(events), 500):
        uw_events_write(client=client, events=events[start : start + 500])
    AlertEvent.objects.all().delete()
    engine = AlertEngine(client=client)
    engine.refresh_rules(force=True)
    engine.discover(force=True)
    started, cpu_started = time.perf_counter(), time.process_time()
    while engine.step():
        pass
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    assert engine.processed == len(payloads), engine.processed
    return len(payloads) / elapsed, len(payloads) / cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis", required=True)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    client = redis.Redis.from_url(args.redis)
    client.flushdb()
    settings.REDIS_URL = args.redis
    payloads = trades(args.messages)
    AlertRule.objects.all().delete()
    reference = [run(client, payloads) for _ in range(args.rounds)]
    rules_create()
    ours = []
    fired = 0
    for _ in range(args.rounds):
        ours.append(run(client, payloads))
        fired = AlertEvent.objects.count()
    AlertRule.objects.all().delete()
    client.flushdb()
    print(f"machine {platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"messages {args.messages}, rounds {args.rounds} (medians)")
    for name, rates in (("no enabled rule (reference)", reference), ("100 enabled rules", ours)):
        wall, cpu = [rate[0] for rate in rates], [rate[1] for rate in rates]
        print(f"{name + ':':29}{statistics.median(wall):,.0f} msg/s  {[round(r) for r in wall]}")
        print(f"{'  per CPU second:':29}{statistics.median(cpu):,.0f} msg/s  {[round(r) for r in cpu]}")
    print(f"alerts fired per round: {fired} ({fired / args.messages:.2%} of messages)")


if __name__ == "__main__":
    main()
