"""A throw-away Django app that lands its own stream kind in the lake: `widgets`, fed by
`test:widgets:{SYM}`. Installed only by the test that shows a new table needs no storage code
(tests/apps/storage/test_registry.py)."""

from __future__ import annotations

import orjson
import pyarrow as pa
from django.apps import AppConfig

from apps.storage.registry import LakeTable, lake_table_register
from apps.storage.tables import TIMESTAMP

SCHEMA = pa.schema([("ts_event", TIMESTAMP), ("name", pa.string()), ("count", pa.int64()), ("stream_id", pa.string())])


def widget_rows(symbol: str, entries: list[tuple[str, bytes]]) -> pa.Table:
    """Each entry's `d` is a JSON list of widgets {"ts": ns, "name": ..., "count": ...}."""
    rows = [
        {"ts_event": widget["ts"], "name": widget["name"], "count": widget["count"], "stream_id": f"{entry}:{index}"}
        for entry, data in entries
        for index, widget in enumerate(orjson.loads(data))
    ]
    return pa.Table.from_pylist(rows, schema=SCHEMA)


WIDGETS = LakeTable(
    name="widgets",
    stream="test:widgets:{SYM}",
    schema=SCHEMA,
    rows=widget_rows,
    retention="widgets",
    label="Widgets",
    view="select *, count * 2 as pairs from {source}",
)


class RegistryAppConfig(AppConfig):
    name = "tests.registry_app"
    label = "registry_app"

    def ready(self) -> None:
        lake_table_register(WIDGETS)
