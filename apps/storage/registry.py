"""The registry of lake tables: what each domain app lands in the lake, described once.

A domain app registers its tables in its `AppConfig.ready()`; the flush, retention, compaction
and the DuckDB views read them from here, so a new stream kind changes no code of storage:

    from apps.storage.registry import LakeTable, lake_table_register

    lake_table_register(
        LakeTable(
            name="gex_snapshots",             # lake directory and DuckDB view
            stream="gex:snapshots:{SYM}",     # hot streams, {SYM} where the hash-tagged symbol goes
            schema=SCHEMA,                    # Arrow schema of the files
            rows=snapshot_rows,               # (symbol, [(entry id, payload)]) -> pa.Table in SCHEMA
            retention="snapshots",            # RetentionPolicy.data_type that governs it
            label="GEX snapshots",
        )
    )

A schema has `ts_event` (timestamp, UTC: it decides the day partition and the order compaction
keeps) and `stream_id` (the row's stream position, apps/core/positions.py).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import pyarrow as pa

from apps.core.keys import REPLAY_PREFIX

# A stream pattern: fixed parts around one `{SYM}`, in the characters keys use (apps/core/keys.py).
_PATTERN = re.compile(r"^[a-z0-9_:-]*\{SYM\}[a-z0-9_:-]*$")
_TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_CATEGORY = re.compile(r"^[a-z][a-z0-9_]{0,19}$")  # fits RetentionPolicy.data_type
SYMBOL_PLACEHOLDER = "{SYM}"

RowBuilder = Callable[[str, list[tuple[str, bytes]]], pa.Table]


class LakeTableError(ValueError):
    """A table that cannot be registered, or a name or key no table has."""


@dataclass(frozen=True)
class LakeTable:
    """One lake table and the hot streams that feed it.

    `rows(symbol, entries)` turns stream entries (id, the `d` field) into rows in `schema`, each
    with its `stream_id`; the flush splits them by UTC day of `ts_event`. `view` is the body of
    its DuckDB view, `{source}` standing for a `read_parquet` of every file of the table."""

    name: str
    stream: str
    schema: pa.Schema
    rows: RowBuilder
    retention: str
    label: str
    view: str = "select * from {source}"
    _key: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not _TABLE_NAME.match(self.name):
            raise LakeTableError(f"lake table name {self.name!r} must be lower-case letters, digits and '_'")
        if not _PATTERN.match(self.stream):
            raise LakeTableError(
                f"{self.name}: stream pattern {self.stream!r} must hold one {SYMBOL_PLACEHOLDER} among "
                "lower-case letters, digits, ':', '_' and '-' (e.g. md:trades:{SYM})"
            )
        if self.stream.startswith(REPLAY_PREFIX):
            # Replay sandboxes are never flushed into the lake (apps/core/keys.py KeySpace).
            raise LakeTableError(f"{self.name}: stream pattern {self.stream!r} is in a replay sandbox's namespace")
        if not _CATEGORY.match(self.retention):
            raise LakeTableError(f"{self.name}: retention category {self.retention!r} must be a short lower-case name")
        for column, kind in (("ts_event", pa.types.is_timestamp), ("stream_id", pa.types.is_string)):
            index = self.schema.get_field_index(column)
            if index < 0 or not kind(self.schema.field(index).type):
                raise LakeTableError(f"{self.name}: the schema needs a {column} column ({kind.__name__})")
        if "{source}" not in self.view:
            raise LakeTableError(f"{self.name}: the view {self.view!r} must read {{source}}")
        prefix, _, suffix = self.stream.partition(SYMBOL_PLACEHOLDER)
        key = re.compile(rf"^{re.escape(prefix)}\{{(?P<symbol>[^{{}}]+)\}}{re.escape(suffix)}$")
        object.__setattr__(self, "_key", key)

    @property
    def stream_glob(self) -> str:
        """The SCAN pattern of this table's hot streams."""
        return self.stream.replace(SYMBOL_PLACEHOLDER, "{*}")

    def symbol_of(self, key: str) -> str | None:
        """The symbol of hot stream `key`, or None when `key` is not one of this table's."""
        match = self._key.match(key)
        return match["symbol"] if match else None


_tables: dict[str, LakeTable] = {}
_lock = threading.Lock()


def lake_table_register(table: LakeTable) -> None:
    """Add `table`. Registering an equal table again does nothing (an app's ready() may run again
    when tests change INSTALLED_APPS); another table under a taken name or stream pattern is refused."""
    with _lock:
        current = _tables.get(table.name)
        if current == table:
            return
        if current is not None:
            raise LakeTableError(f"lake table {table.name!r} is already registered, differently")
        for other in _tables.values():
            if other.stream == table.stream:
                raise LakeTableError(f"{table.name}: stream pattern {table.stream!r} already feeds {other.name}")
        _tables[table.name] = table


def lake_table_unregister(*, name: str) -> None:
    """Remove a table; its files stay where they are. For an app that leaves the process, which
    today only the suite's throw-away test app does (tests/registry_app)."""
    with _lock:
        _tables.pop(name, None)


def lake_tables() -> list[LakeTable]:
    """Every registered table, in registration order."""
    with _lock:
        return list(_tables.values())


def lake_table(name: str) -> LakeTable:
    with _lock:
        table = _tables.get(name)
        known = ", ".join(_tables)
    if table is None:
        raise LakeTableError(f"unknown lake table {name!r}; known: {known}")
    return table


def lake_table_of_stream(key: str) -> tuple[LakeTable, str]:
    """The table that hot stream `key` feeds, and the stream's symbol."""
    for table in lake_tables():
        symbol = table.symbol_of(key)
        if symbol is not None:
            return table, symbol
    raise LakeTableError(f"no lake table is fed by stream {key!r}")


def retention_categories() -> list[str]:
    """The retention categories of the registered tables, in registration order."""
    return list(dict.fromkeys(table.retention for table in lake_tables()))


def retention_choices() -> list[tuple[str, str]]:
    """(category, label) for RetentionPolicy.data_type: read when a form or check asks, so a
    table registered by any app is a choice without a migration."""
    labels: dict[str, list[str]] = {}
    for table in lake_tables():
        labels.setdefault(table.retention, []).append(f"{table.label} ({table.name})")
    return [(category, ", ".join(names)) for category, names in labels.items()]
