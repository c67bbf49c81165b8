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


def vendor_summary(feed: str, symbol: str) -> str:
    """A feed's latest day summary of a symbol (tastytrade's Summary event: open, high, low,
    close, previous close and volume, open interest), one JSON value replaced on each update."""
    return f"md:vendor_summary:{_name('feed', feed)}:{{{_symbol(symbol)}}}"


def vendor_greeks(feed: str, symbol: str) -> str:
    """A feed's latest option greeks of a symbol (tastytrade's Greeks event: price, volatility,
    delta, gamma, theta, rho, vega), one JSON value replaced on each update."""
    return f"md:vendor_greeks:{_name('feed', feed)}:{{{_symbol(symbol)}}}"


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


# Unusual Whales. The three firehose streams are not per symbol: they share the hash tag `{UW}`
# (one slot with their dedup sets, so one Lua call checks and appends), and the lake files them
# under symbol=UW. The names without the tag are the stream kinds, kept from the design.
UW_OPTION_TRADE = "uw:option_trade"
UW_FLOW_ALERT = "uw:flow_alert"
UW_MARKET_AGG = "uw:market_agg"
UW_TAG = "UW"
UW_OPTION_TRADES = f"{UW_OPTION_TRADE}:{{{UW_TAG}}}"
UW_FLOW_ALERTS = f"{UW_FLOW_ALERT}:{{{UW_TAG}}}"
UW_MARKET_AGGS = f"{UW_MARKET_AGG}:{{{UW_TAG}}}"
UW_NEWS = f"uw:news:{{{UW_TAG}}}"


def uw_seen(kind: str) -> str:
    """Sorted set of the ids of one UW stream kind already stored (scored by when), so the same
    id is appended once: `uw:seen:option_trade:{UW}`."""
    return f"uw:seen:{_name('kind', kind)}:{{{UW_TAG}}}"


def uw_price(ticker: str) -> str:
    """Stream of UW's `price:<TICKER>` ticks (hot only, capped)."""
    return f"uw:price:{{{_symbol(ticker)}}}"


# Alerts
ALERTS_FIRED = "alerts:fired"
ALERTS_GROUP = "alerts"
# Where the engine's consumer groups start on a stream they meet for the first time: the moment
# the engine first ran (ms), so a new stream is read from its start and history is not re-fired.
ALERTS_ENGINE_SINCE = "alerts:engine:since"
# Set by the running engine on every pass, expiring after a minute: its liveness.
ALERTS_ENGINE_HEARTBEAT = "alerts:engine:heartbeat"


def alerts_lock(stream_key: str) -> str:
    return f"alerts:lock:{stream_key}"


def alerts_delivered(delivery_id: int) -> str:
    """Set once a delivery to Redis (pub/sub, `alerts:fired`) was made: a retry never repeats it."""
    if not isinstance(delivery_id, int) or delivery_id < 1:
        raise ValueError(f"delivery_id {delivery_id!r} must be a positive integer")
    return f"alerts:delivered:{delivery_id}"


# Streamer processes and malformed input
def streamer(name: str) -> str:
    return f"streamer:{_name('streamer', name)}"


def dead_letter(source: str) -> str:
    return f"deadletter:{_name('source', source)}"


DEAD_LETTER_PATTERN = "deadletter:*"


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
# A random value set whenever an API token or a user changes (apps.accounts.token_cache): every
# process forgets the tokens it remembered when it reads a value other than the one it knew.
ACCOUNTS_TOKENS_GENERATION = "accounts:tokens:generation"
BEAT_LOCK = "beat:lock"
BEAT_LAST_RUN = "beat:last_run"


# Monitoring: what Celery workers report (they serve no /metrics; the web's collector reads these).
MONITORING_CELERY_TASKS = "monitoring:celery:tasks"  # hash `task|state` -> count
MONITORING_CELERY_RUNTIME = "monitoring:celery:runtime"  # hash `task|le` -> count, `task|sum`, `task|count`
MONITORING_WORKER_PATTERN = "monitoring:worker:*"
_WORKER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9@._-]{0,127}$")


def monitoring_worker(hostname: str) -> str:
    """A live Celery worker's record (its queues), refreshed while it runs and expiring after."""
    if not _WORKER.match(hostname):
        raise ValueError(f"worker hostname {hostname!r} must be letters, digits, '@', '.', '_' or '-'")
    return f"monitoring:worker:{hostname}"


# Pub/sub notification channels kept from the seed: published once per batch, for outside
# subscribers; never the source of truth.
def trades_channel(feed: str) -> str:
    return f"market_data:{_name('feed', feed)}:trades"


RUNTIME_CONFIG_CHANNEL = "runtime:config:changed"
GEX_SNAPSHOT_CHANNEL = "gex:snapshot:stream"
UW_MARKET_AGG_CHANNEL = "uw:market_agg:stream"
UW_OPTION_TRADE_CHANNEL = "uw:option_trade:stream"


# Replay sandboxes. A replay writes under its own id, never into the live keys above: every key
# of replay `r1` starts with `replay:{r1}`, so the whole sandbox shares one hash tag (one Cluster
# slot, deleted with one SCAN) and no live pattern (`md:trades:{*}`, `streamer:*`, the lake
# tables' streams) can match it. `KeySpace` is how readers and writers name either store.
REPLAY_PREFIX = "replay:"
# A replay id: 1 to 48 of a-z, 0-9 and "-", not starting with "-" (the REST schemas use it too).
REPLAY_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,47}$"
_REPLAY_ID = re.compile(REPLAY_ID_PATTERN)


class ReplayIdError(ValueError):
    """A replay id that cannot name a sandbox; the message says what a valid one looks like."""


def replay_id_check(value: str) -> str:
    """`value` when it is a valid replay id: 1 to 48 lower-case letters, digits and '-', not
    starting with '-' (it becomes part of Redis keys)."""
    if not isinstance(value, str) or not _REPLAY_ID.match(value):
        raise ReplayIdError(
            f"replay id {str(value)[:60]!r} is not valid: use 1 to 48 lower-case letters, digits and '-'"
            " (e.g. 2026-11-20-es)"
        )
    return value


def replay_state(replay_id: str) -> str:
    """The sandbox's state hash (source, symbols, speed, state, paused, replay clock, progress)."""
    return f"{REPLAY_PREFIX}{{{replay_id_check(replay_id)}}}"


def replay_keys_pattern(replay_id: str) -> str:
    """The SCAN pattern of every key of one sandbox, its state hash included."""
    return f"{replay_state(replay_id)}*"


# Each sandbox's state hash, and nothing else (every other sandbox key goes on after the `}`).
REPLAY_STATE_PATTERN = "replay:{*}"


class KeySpace:
    """The keys of market data in one store: the live one (`LIVE`) or a replay's sandbox
    (`KeySpace.replay(id)`). Writers and readers take one; the doors build it from `replay=<id>`."""

    __slots__ = ("_prefix", "replay_id")

    def __init__(self, replay_id: str | None = None) -> None:
        self.replay_id = None if replay_id is None else replay_id_check(replay_id)
        self._prefix = "" if self.replay_id is None else f"{replay_state(self.replay_id)}:"

    @classmethod
    def replay(cls, replay_id: str) -> KeySpace:
        return cls(replay_id)

    @property
    def is_live(self) -> bool:
        return self.replay_id is None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, KeySpace) and other.replay_id == self.replay_id

    def __hash__(self) -> int:
        return hash(("keyspace", self.replay_id))

    def __repr__(self) -> str:
        return "KeySpace(live)" if self.replay_id is None else f"KeySpace(replay={self.replay_id})"

    def scoped(self, live_key: str) -> str:
        """`live_key` in this store: itself when live, under the sandbox's prefix otherwise (the
        symbol's braces dropped, so the sandbox's own hash tag decides the slot)."""
        if self.replay_id is None:
            return live_key
        return self._prefix + live_key.replace("{", "").replace("}", "")

    def trades(self, symbol: str) -> str:
        return self.scoped(trades(symbol))

    def quotes(self, symbol: str) -> str:
        return self.scoped(quotes(symbol))

    def depth(self, symbol: str) -> str:
        return self.scoped(depth(symbol))

    def last(self, symbol: str) -> str:
        return self.scoped(last(symbol))

    @property
    def gaps(self) -> str:
        return self.scoped(MD_GAPS)

    @property
    def store_outages(self) -> str:
        return self.scoped(MD_STORE_OUTAGES)

    def streamer(self, name: str) -> str:
        return self.scoped(streamer(name))

    def dead_letter(self, source: str) -> str:
        return self.scoped(dead_letter(source))

    def trades_channel(self, feed: str) -> str:
        return self.scoped(trades_channel(feed))


LIVE = KeySpace()


def process_status(name: str) -> str:
    """The status hash of a long-running process that is not a streamer (the Discord bot)."""
    return f"process:{name}"
