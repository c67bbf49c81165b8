"""Every Redis key and pub/sub channel name, built here and nowhere else.

Keys of one symbol share the hash tag `{SYM}`, so they live in one Redis Cluster slot and a
pipeline or MULTI over one symbol stays on one node. `tests/apps/core/test_keys.py` pins the
names: renaming one strands data already written under the old name.
"""

from __future__ import annotations

import re

_SYMBOL = re.compile(r"^[A-Z0-9][A-Z0-9._-]{0,31}$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def _symbol(symbol: str) -> str:
    if not _SYMBOL.match(symbol):
        raise ValueError(f"symbol {symbol!r} is not canonical: use upper-case letters and digits, e.g. ESZ25")
    return symbol


def _name(kind: str, value: str) -> str:
    if not _NAME.match(value):
        raise ValueError(f"{kind} {value!r} must be lower-case letters, digits, '_' or '-'")
    return value


# Market data, per symbol
def trades(symbol: str) -> str:
    return f"md:trades:{{{_symbol(symbol)}}}"


def quotes(symbol: str) -> str:
    return f"md:quotes:{{{_symbol(symbol)}}}"


def depth(symbol: str) -> str:
    return f"md:depth:{{{_symbol(symbol)}}}"


def last(symbol: str) -> str:
    return f"md:last:{{{_symbol(symbol)}}}"


def vendor_bars(feed: str, symbol: str) -> str:
    """Sorted set of a feed's own one-minute bars (Schwab's CHART_FUTURES and price history),
    scored by the minute's start in ms: a back-fill rewrites a minute instead of adding it twice."""
    return f"md:vendor_bars:{_name('feed', feed)}:1m:{{{_symbol(symbol)}}}"


MD_GAPS = "md:gaps"
# Outages of the hot store as a streamer saw them: it buffered meanwhile (start, end, events held).
MD_STORE_OUTAGES = "md:store_outages"


# GEX
def gex_snapshot(symbol: str, category: str) -> str:
    return f"gex:snapshot:{{{_symbol(symbol)}}}:{_name('category', category)}"


def gex_snapshots(ticker: str) -> str:
    """The stream of every snapshot of one ticker (all packages and categories); the flush lands
    it in the lake as `gex_snapshots`."""
    return f"gex:snapshots:{{{_symbol(ticker)}}}"


def gex_recorded(ticker: str) -> str:
    """Sorted set of `package:category:timestamp` already recorded, scored by timestamp: no
    snapshot is stored twice."""
    return f"gex:recorded:{{{_symbol(ticker)}}}"


def gex_rate_limit(ticker: str, metric: str) -> str:
    """Held for one second per request to GEXBot for a ticker and metric, across all workers."""
    return f"gex:ratelimit:{{{_symbol(ticker)}}}:{_name('metric', metric)}"


def gex_import(job_id: int) -> str:
    """Hash of a GEX history import's progress (state, done, total, rows_imported, error), read by
    the admin and the API while the job runs."""
    if not isinstance(job_id, int) or job_id < 1:
        raise ValueError(f"job_id {job_id!r} must be a positive integer")
    return f"gex:import:{job_id}"


def gex_available_tickers(source: str) -> str:
    """The tickers a GEX source lists (GEXBot's /tickers), cached for an hour."""
    return f"gex:tickers:{_name('source', source)}"


# Per `TICKER:package:category`: when it was last polled, and polls skipped while a breaker was open.
GEX_POLL_LAST = "gex:poll:last"
GEX_POLL_SKIPPED = "gex:poll:skipped"


def gex_poll_chain(group: str) -> str:
    """The token of the one live poll chain of a poller group (apps/gex/poll_chain.py)."""
    return f"gex:poll:chain:{_name('group', group)}"


def gex_breaker(name: str) -> str:
    """Namespace of a GEX source's circuit breaker, shared by every worker; pybreaker appends
    `:pybreaker:state|fail_counter|success_counter|opened_at`. The hash tag keeps the four in one slot."""
    return f"gex:breaker:{{{_name('breaker', name)}}}"


# Unusual Whales
UW_OPTION_TRADE = "uw:option_trade"
UW_FLOW_ALERT = "uw:flow_alert"
UW_MARKET_AGG = "uw:market_agg"

# Alerts
ALERTS_FIRED = "alerts:fired"


# Streamer processes and malformed input
def streamer(name: str) -> str:
    return f"streamer:{_name('streamer', name)}"


def dead_letter(source: str) -> str:
    return f"deadletter:{_name('source', source)}"


# Every streamer's status hash: `streamer:{name}` (and nothing else under `streamer:`).
STREAMER_STATUS_PATTERN = "streamer:*"


def streamer_control(name: str) -> str:
    """Stream of operator requests (`action=resubscribe`) that the streamer process reads."""
    return f"control:streamer:{_name('streamer', name)}"


# Broker tokens: the lock that keeps two processes from refreshing one account's tokens at once.
def broker_refresh_lock(provider: str, account: str) -> str:
    return f"brokers:refresh_lock:{_name('provider', provider)}:{_name('account', account)}"


# REST API
def api_rate_limit(subject: str) -> str:
    """Requests of one API caller (`token-<id>` or `user-<id>`) in the current one-minute window."""
    return f"api:ratelimit:{_name('subject', subject)}"


# The lake: per stream, the flush checkpoint and the lock that keeps two flushes apart. They
# carry the stream's name (and so its hash tag and cluster slot).
def lake_checkpoint(stream_key: str) -> str:
    return f"lake:checkpoint:{stream_key}"


def lake_lock(stream_key: str) -> str:
    return f"lake:lock:{stream_key}"


LAKE_GROUP = "lake"
# The outcome of the last flush run (failing, error, failed_at, failures, ok_at): the web's
# /health/ready and /metrics read it, since the workers that flush expose no metrics.
LAKE_FLUSH_HEALTH = "lake:flush:health"


# Platform coordination
RUNTIME_CONFIG_VERSION = "runtime:config:version"
BEAT_LOCK = "beat:lock"
BEAT_LAST_RUN = "beat:last_run"


# Pub/sub notification channels kept from the seed: published once per batch, for outside
# subscribers; never the source of truth.
def trades_channel(feed: str) -> str:
    return f"market_data:{_name('feed', feed)}:trades"


RUNTIME_CONFIG_CHANNEL = "runtime:config:changed"
GEX_SNAPSHOT_CHANNEL = "gex:snapshot:stream"
UW_MARKET_AGG_CHANNEL = "uw:market_agg:stream"
UW_OPTION_TRADE_CHANNEL = "uw:option_trade:stream"
