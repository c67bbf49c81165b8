"""The lake-table registry: a table registered by an app that storage has never heard of is
flushed, viewed, purged and compacted by storage's own code."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pyarrow as pa
import pytest
from django.test import modify_settings

from apps.core.redis import get_redis
from apps.storage.compaction import lake_compact
from apps.storage.connection import fetch
from apps.storage.flush import hot_streams, streams_flush
from apps.storage.models import RetentionPolicy
from apps.storage.registry import (
    LakeTable,
    LakeTableError,
    lake_table,
    lake_table_of_stream,
    lake_table_register,
    lake_table_unregister,
    retention_categories,
)
from apps.storage.retention import hot_windows, purge_execute, purge_plan

ROOT = Path(__file__).resolve().parents[3]
OLD = datetime(2020, 1, 2, 15, 0, tzinfo=UTC)  # a Thursday, long past any retention
RECENT = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # a Tuesday
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # Thanksgiving: the purge and compaction's "now"
KEY = "test:widgets:{W1}"


@pytest.fixture
def widgets_app() -> Iterator[None]:
    with modify_settings(INSTALLED_APPS={"append": "tests.registry_app"}):
        yield
    lake_table_unregister(name="widgets")


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def widgets_add(moment: datetime, seq: int, *names: str) -> None:
    data = [{"ts": ms(moment) * 1_000_000 + i, "name": name, "count": i + 1} for i, name in enumerate(names)]
    get_redis().xadd(KEY, {"d": orjson.dumps(data)}, id=f"{ms(moment)}-{seq}")


@pytest.mark.django_db
@pytest.mark.calendar
def test_a_test_apps_table_is_flushed_viewed_compacted_and_purged(widgets_app: None, tmp_path: Path) -> None:
    assert lake_table_of_stream(KEY) == (lake_table("widgets"), "W1")
    assert "widgets" in retention_categories()
    widgets_add(OLD, 0, "old-a", "old-b")
    widgets_add(RECENT, 0, "a", "b")
    assert hot_streams(get_redis()) == [KEY]

    # Flushed: two batches of the same day land as two files of one partition.
    assert [r.rows for r in streams_flush(client=get_redis(), lake=tmp_path)] == [4]
    widgets_add(RECENT, 1, "c")
    assert [r.rows for r in streams_flush(client=get_redis(), lake=tmp_path)] == [1]
    recent = tmp_path / "widgets" / "date=2026-11-24" / "symbol=W1"
    assert len(list(recent.glob("*.parquet"))) == 2
    assert (tmp_path / "widgets" / "date=2020-01-02" / "symbol=W1").is_dir()

    # Viewed, through the view body the app registered.
    query = "select name, pairs, stream_id from widgets order by stream_id"
    rows = fetch(tmp_path, query, [])
    assert [(name, pairs) for name, pairs, _ in rows] == [("old-a", 2), ("old-b", 4), ("a", 2), ("b", 4), ("c", 2)]
    assert rows[2][2] == f"{ms(RECENT)}-0:0"

    # Compacted: the closed day's two files become one, nothing lost.
    results = {r.partition: r for r in lake_compact(lake=tmp_path, today=NOW.date())}
    assert results["widgets/date=2026-11-24/symbol=W1"].files_after == 1
    assert len(list(recent.glob("*.parquet"))) == 1
    assert fetch(tmp_path, "select count(*) from widgets", []) == [(5,)]

    # Purged: the policy of its retention category, a choice the registry gave the model.
    policy = RetentionPolicy(data_type="widgets", hot_window_minutes=60, cold_retention_days=30)
    policy.full_clean()
    policy.save()
    assert hot_windows()["widgets"] == 60
    plan = purge_plan(client=get_redis(), lake=tmp_path, data_type="widgets", now=NOW)
    assert [Path(item.path).parts[:2] for item in plan.files] == [("widgets", "date=2020-01-02")]
    # Every entry is older than the hot window and acknowledged by the flush's group.
    assert [(trim.key, trim.entries) for trim in plan.trims] == [(KEY, 3)]
    run = purge_execute(client=get_redis(), lake=tmp_path, plan=plan, dry_run=False, triggered_by="test")
    assert run.status == run.Status.DONE
    assert not (tmp_path / "widgets" / "date=2020-01-02").exists()
    assert get_redis().xlen(KEY) == 0
    assert [name for (name,) in fetch(tmp_path, "select name from widgets order by stream_id", [])] == ["a", "b", "c"]


def test_a_policy_for_a_category_no_table_has_is_refused() -> None:
    with pytest.raises(Exception, match="not a valid choice"):
        RetentionPolicy(data_type="widgets", hot_window_minutes=60).full_clean(exclude=["id"], validate_unique=False)


def test_registrations_are_checked() -> None:
    schema = pa.schema([("ts_event", pa.timestamp("ns", tz="UTC")), ("stream_id", pa.string())])

    def table(**changes: object) -> LakeTable:
        fields: dict[str, object] = {"name": "gizmos", "stream": "test:gizmos:{SYM}", "schema": schema,
                                     "rows": lambda symbol, entries: pa.table({}), "retention": "gizmos",
                                     "label": "Gizmos"} | changes  # fmt: skip
        return LakeTable(**fields)  # type: ignore[arg-type]

    with pytest.raises(LakeTableError, match="must hold one"):
        table(stream="test:gizmos:*")
    with pytest.raises(LakeTableError, match="needs a stream_id column"):
        table(schema=pa.schema([("ts_event", pa.timestamp("ns", tz="UTC"))]))
    with pytest.raises(LakeTableError, match="must read"):
        table(view="select 1")
    with pytest.raises(LakeTableError, match="already registered"):
        lake_table_register(table(name="tick_data"))
    with pytest.raises(LakeTableError, match="already feeds tick_data"):
        lake_table_register(table(stream="md:trades:{SYM}"))
    with pytest.raises(LakeTableError, match=re.escape("no lake table is fed by stream 'md:bars:1s:{ESZ26}'")):
        lake_table_of_stream("md:bars:1s:{ESZ26}")
    assert lake_table_of_stream("gex:snapshots:{SPX}") == (lake_table("gex_snapshots"), "SPX")


def test_the_market_and_gex_tables_are_registered_in_order() -> None:
    assert retention_categories()[:4] == ["trades", "quotes", "depth", "snapshots"]
