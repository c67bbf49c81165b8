"""The alert engine: a consumer-group worker over every source's hot streams.

Per stream, through the exactly-once reader (`apps/storage/consumer.py`, group `alerts`):

1. read a batch (the group's pending entries first: exactly what an interrupted run had read);
2. evaluate it with the compiled rules (`RuleBook.evaluate`, the backtest's code too);
3. record the matches and their deliveries in one database transaction (an alert already
   recorded for the same rule and input is skipped, so evaluating a batch twice records it once);
4. acknowledge the batch.

A crash before 3 re-reads the batch; a crash between 3 and 4 evaluates it again and records
nothing new. Deliveries are an outbox drained by a thread pool beside the loop (and by the
`alerts` Celery queue): a slow or failing receiver never holds the matching or the other actions.

Rules are compiled once and recompiled when the runtime-config version moves (the admin and the
API announce every rule change, `runtime_config_announce`), with a database check every
`RULES_CHECK_SECONDS` in case an announcement was lost.
"""

from __future__ import annotations

import gc
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any

import redis
import structlog
from django.conf import settings
from django.db import close_old_connections

from apps.alerts.deliveries import claimer_alive, claimer_name, deliveries_due, delivery_perform
from apps.alerts.inputs import AlertInput
from apps.alerts.models import Source
from apps.alerts.rules import CompiledRule, Fire, RuleBook
from apps.alerts.selectors import rules_enabled_compiled, rules_version
from apps.alerts.services import alerts_record, deliveries_reclaim
from apps.alerts.sources import STREAM_KINDS, BarBuilder, InputError, StreamKind, entry_inputs
from apps.alerts.tape import GexLookup, Tape
from apps.core import keys
from apps.core.codec import dumps, text
from apps.gex.selectors import snapshot_at
from apps.storage.consumer import ExactlyOnceReader, StreamBusyError

log = structlog.get_logger(__name__)

BATCH = 2000
IDLE_SECONDS = 0.05
DISCOVER_SECONDS = 5.0
RULES_CHECK_SECONDS = 30.0
DELIVERY_POLL_SECONDS = 0.2
DEAD_LETTER_MAX = 10_000
HEARTBEAT_SECONDS = 60


def gex_lookup_live(ticker: str, category: str, at: datetime) -> Any:
    """The GEX snapshot in force at `at`: the hot store's, else the lake's."""
    try:
        return snapshot_at(ticker=ticker, category=category, at=at)
    except ValueError:
        return None


class AlertEngine:
    def __init__(
        self,
        *,
        client: redis.Redis,
        consumer: str = "engine",
        batch: int = BATCH,
        gex_lookup: GexLookup = gex_lookup_live,
        failpoint: str = "",
        keyspace: keys.KeySpace = keys.LIVE,
    ) -> None:
        self.client = client
        # The live store, or a replay's sandbox (`run_alerts --replay ID`): a replay's alerts are
        # recorded with their sandbox stream and sent nowhere.
        self.keyspace = keyspace
        self.consumer = consumer
        self.batch = batch
        self.failpoint = failpoint
        self.tapes = {source: Tape(gex_lookup=gex_lookup) for source in Source}
        self.bars = BarBuilder()
        self.books: dict[Source, RuleBook] = {}
        self.streams: dict[str, StreamKind] = {}
        self.processed = 0
        self.fired = 0
        self._config_version: Any = None
        self._rules_version: tuple[int, int] | None = None
        self._rules_checked = 0.0
        self._discovered = 0.0
        self._since: str | None = None
        self._dead_kinds: set[tuple[str, str]] = set()

    # -- rules ------------------------------------------------------------------------------

    def compile_rules(self) -> list[CompiledRule]:
        rules = rules_enabled_compiled()
        self.books = {
            source: RuleBook(source=source, rules=rules, tape=self.tapes[source])
            for source in Source
            if any(rule.source == source for rule in rules)
        }
        self._rules_version = rules_version()
        self._rules_checked = time.monotonic()
        log.info("alerts.rules_compiled", rules=len(rules), sources=sorted(source.value for source in self.books))
        return rules

    def refresh_rules(self, *, force: bool = False) -> bool:
        """Recompile when a rule changed; True when it did."""
        version = self.client.get(keys.RUNTIME_CONFIG_VERSION)
        now = time.monotonic()
        changed = force or version != self._config_version
        if not changed and now - self._rules_checked >= RULES_CHECK_SECONDS:
            self._rules_checked = now
            changed = rules_version() != self._rules_version
        if changed:
            self._config_version = version
            self.compile_rules()
        return changed

    # -- streams ----------------------------------------------------------------------------

    def _group_start(self) -> str:
        if not self.keyspace.is_live:
            return "0"  # a sandbox holds only the replay: read it from its start
        if self._since is None:
            self.client.set(keys.ALERTS_ENGINE_SINCE, str(int(time.time() * 1000)), nx=True)
            self._since = f"{text(self.client.get(keys.ALERTS_ENGINE_SINCE))}-0"
        return self._since

    def discover(self, *, force: bool = False) -> None:
        """Find the streams of every source (new symbols appear while running); a stream met for
        the first time gets the engine's group from the moment the engine first ran."""
        now = time.monotonic()
        if not force and now - self._discovered < DISCOVER_SECONDS:
            return
        self._discovered = now
        for kind in STREAM_KINDS:
            pattern = self.keyspace.scoped(kind.pattern)
            if kind.per_symbol:
                found = [text(key) for key in self.client.scan_iter(match=pattern, count=1000, _type="STREAM")]
            else:
                found = [pattern] if self.client.exists(pattern) else []
            for key in found:
                if key in self.streams:
                    continue
                try:
                    self.client.xgroup_create(key, keys.ALERTS_GROUP, id=self._group_start())
                except redis.ResponseError as error:
                    if "BUSYGROUP" not in str(error):
                        raise
                self.streams[key] = kind

    def _dead_letter(self, kind: StreamKind, stream: str, entry_id: str, fields: Any, error: Exception) -> None:
        if (kind.name, type(error).__name__ + str(error)[:40]) not in self._dead_kinds:
            self._dead_kinds.add((kind.name, type(error).__name__ + str(error)[:40]))
            log.warning("alerts.bad_entry", stream=stream, entry_id=entry_id, error=str(error))
        raw = {
            text(key): text(value)[:2000]
            for key, value in (fields or {}).items()
            if key != b"d" or kind.name != "md_trades"
        }
        self.client.xadd(
            keys.dead_letter("alerts"),
            {"stream": stream, "entry_id": entry_id, "reason": str(error)[:500], "raw": dumps(raw)},
            maxlen=DEAD_LETTER_MAX,
            approximate=True,
        )
        self.client.hincrby(keys.dead_letter("alerts") + ":counts", kind.name, 1)

    def evaluate(self, kind: StreamKind, stream: str, entries: list[tuple[str, Any]]) -> list[Fire]:
        books = [self.books[source] for source in kind.sources if source in self.books]
        if not books:
            return []
        inputs: list[AlertInput] = []
        # A batch allocates thousands of small payload objects that all die together at its
        # end: the cyclic collector would scan them several times over for nothing.
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._evaluate(kind, stream, entries, books, inputs)
        finally:
            if collecting:
                gc.enable()

    def _evaluate(
        self,
        kind: StreamKind,
        stream: str,
        entries: list[tuple[str, Any]],
        books: list[RuleBook],
        inputs: list[AlertInput],
    ) -> list[Fire]:
        for entry_id, fields in entries:
            try:
                inputs.extend(entry_inputs(kind, stream, entry_id, fields))
            except InputError as error:
                self._dead_letter(kind, stream, entry_id, fields, error)
        fires: list[Fire] = []
        for book in books:
            if book.source == Source.MD_BARS:
                bars = [bar for bar in map(self.bars.add, inputs) if bar is not None]
                fires.extend(book.evaluate(bars))
            else:
                fires.extend(book.evaluate(inputs))
            for item, problem in book.bad:
                entry_id = item.position.partition(":")[0]
                self._dead_letter(kind, stream, entry_id, {b"d": dumps(item.raw)}, problem)
            book.bad.clear()
        return fires

    def process_stream(self, stream: str) -> int:
        """One batch of `stream`: read, evaluate, record, acknowledge. Returns entries read."""
        kind = self.streams[stream]
        reader = ExactlyOnceReader(
            client=self.client,
            key=stream,
            group=keys.ALERTS_GROUP,
            consumer=self.consumer,
            lock=keys.alerts_lock(stream),
        )
        try:
            with reader:
                batch = reader.read(count=self.batch)
                if batch is None:
                    return 0
                try:
                    fires = self.evaluate(kind, stream, batch.entries)
                    recorded = alerts_record(fires=fires, deliver=self.keyspace.is_live) if fires else 0
                    self.fired += recorded
                except Exception:
                    # The rules' cooldown and dedup state saw this batch; the database did not.
                    # Rebuild it from the database before the batch is read again.
                    self.compile_rules()
                    raise
                if self.failpoint == "after_record" and recorded:
                    os.kill(os.getpid(), signal.SIGKILL)
                reader.ack(batch)
                self.processed += len(batch.entries)
                return len(batch.entries)
        except StreamBusyError:
            return 0

    def step(self) -> int:
        """One pass over every stream; returns entries read."""
        self.refresh_rules()
        self.discover()
        return sum(self.process_stream(stream) for stream in list(self.streams))


class DeliveryPump:
    """Sends due deliveries from a thread pool, each delivery in its own thread, never waiting for
    one before starting the next."""

    def __init__(self, *, workers: int = 8, failpoint: str = "") -> None:
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="alert-delivery")
        self.failpoint = failpoint
        self.claimer = claimer_name()
        self._in_flight: dict[int, Future[Any]] = {}

    def _perform(self, delivery_id: int) -> None:
        try:
            state = delivery_perform(delivery_id=delivery_id, claimer=self.claimer, failpoint=self.failpoint)
            if state is None:
                return
        except Exception:
            log.exception("alerts.delivery_error", delivery_id=delivery_id)
        finally:
            close_old_connections()

    def pump(self) -> int:
        self._in_flight = {key: future for key, future in self._in_flight.items() if not future.done()}
        started = 0
        for delivery_id in deliveries_due(limit=500):
            if delivery_id not in self._in_flight:
                self._in_flight[delivery_id] = self.pool.submit(self._perform, delivery_id)
                started += 1
        return started

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def engine_run(
    *,
    client: redis.Redis,
    stop: threading.Event,
    batch: int = BATCH,
    keyspace: keys.KeySpace = keys.LIVE,
    on_idle: Callable[[], None] | None = None,
) -> AlertEngine:
    """Run the engine and its delivery pump until `stop` is set (`manage.py run_alerts`)."""
    failpoint = getattr(settings, "ALERTS_FAILPOINT", "")
    engine = AlertEngine(client=client, failpoint=failpoint, batch=batch, keyspace=keyspace)
    reclaimed = deliveries_reclaim(claimer_alive=claimer_alive)
    if reclaimed:
        log.info("alerts.deliveries_reclaimed", count=reclaimed)
    engine.refresh_rules(force=True)
    engine.discover(force=True)
    pump = DeliveryPump(failpoint=failpoint)

    def deliver() -> None:
        while not stop.is_set():
            try:
                pump.pump()
            except Exception:
                log.exception("alerts.pump_error")
            finally:
                close_old_connections()
            stop.wait(DELIVERY_POLL_SECONDS)

    thread = threading.Thread(target=deliver, name="alert-deliveries", daemon=True)
    if keyspace.is_live:  # a replay's engine sends nothing
        thread.start()
    log.info("alerts.engine_started", streams=len(engine.streams))
    try:
        while not stop.is_set():
            try:
                if keyspace.is_live:
                    client.set(keys.ALERTS_ENGINE_HEARTBEAT, str(int(time.time())), ex=HEARTBEAT_SECONDS)
                read = engine.step()
            except (redis.RedisError, OSError) as error:
                log.warning("alerts.engine_retry", error=str(error))
                stop.wait(1.0)
                continue
            if not read:
                if on_idle is not None:
                    on_idle()
                stop.wait(IDLE_SECONDS)
    finally:
        stop.set()
        if thread.is_alive():
            thread.join(timeout=10)
        pump.close()
        log.info("alerts.engine_stopped", processed=engine.processed, fired=engine.fired)
    return engine
