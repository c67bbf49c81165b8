"""Every lake path is built by one function (apps/storage/lake.py: partition_dir) from validated
values, and nothing a command option, a CSV column or a hot stream's name carries can place a
file outside the lake: each hostile value is refused by name, and nothing is written anywhere."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from pytest_django import Settings

from apps.core import keys
from apps.core.redis import get_redis
from apps.gex.models import GEXImportJob
from apps.marketdata.events import Side
from apps.storage.compaction import partition_compact
from apps.storage.connection import lake_connection
from apps.storage.flush import streams_flush
from apps.storage.lake import LakePathError, partition_dir, partition_file
from tests.factories import trade, write

OUTSIDE = "../../../../../outside"
HOSTILE_SYMBOLS = [OUTSIDE, "hello world", "/etc/passwd", "ESZ26/../../x", ".."]


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A directory holding the lake and the source files; everything written here is seen."""
    return tmp_path


@pytest.fixture
def lake(work: Path, settings: Settings) -> Path:
    # Deep enough that OUTSIDE, followed from a partition, lands inside `work`, where it is seen.
    settings.LAKE_DIR = work / "a" / "lake"
    return settings.LAKE_DIR


def tree(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*"))


def ticks_csv(work: Path, *, symbol: str | None = None) -> Path:
    source = work / "ticks.csv"
    if symbol is None:
        source.write_text("ts,price,size\n2026-11-24T14:30:00Z,6000.25,2\n")
    else:
        source.write_text(f'ts,symbol,price,size\n2026-11-24T14:30:00Z,"{symbol}",6000.25,2\n')
    return source


@pytest.mark.parametrize("command", ["import_ticks", "import_depth"])
@pytest.mark.parametrize("symbol", HOSTILE_SYMBOLS)
def test_a_hostile_symbol_option_is_refused_by_name_and_nothing_is_written(
    work: Path, lake: Path, command: str, symbol: str
) -> None:
    source = work / "rows.csv"
    source.write_text("ts,side,price,size\n2026-11-24T14:30:00Z,B,6000.25,2\n")
    before = tree(work)
    with pytest.raises(CommandError) as caught:
        call_command(command, str(source), "--symbol", symbol)
    assert f"--symbol {symbol!r}" in str(caught.value)
    assert "\n" not in str(caught.value)
    assert tree(work) == before, "nothing written, in the lake or beside it"
    assert not (work / "outside").exists()


@pytest.mark.parametrize("symbol", HOSTILE_SYMBOLS)
def test_a_hostile_symbol_column_is_refused_by_row_and_value(work: Path, lake: Path, symbol: str) -> None:
    source = ticks_csv(work, symbol=symbol)
    before = tree(work)
    with pytest.raises(CommandError) as caught:
        call_command("import_ticks", str(source))
    message = str(caught.value)
    assert "row 2, column 'symbol'" in message
    assert repr(symbol) in message
    assert "nothing from this file was written" in message
    assert tree(work) == before
    assert not (work / "outside").exists()


def test_a_good_row_before_a_hostile_one_is_not_written_either(work: Path, lake: Path) -> None:
    source = work / "mixed.csv"
    source.write_text(
        f"ts,symbol,price,size\n2026-11-24T14:30:00Z,ESZ26,6000.25,2\n2026-11-24T14:30:01Z,{OUTSIDE},6000.5,1\n"
    )
    before = tree(work)
    with pytest.raises(CommandError, match=r"row 3, column 'symbol': '\.\./\.\./"):
        call_command("import_ticks", str(source))
    assert tree(work) == before


@pytest.mark.parametrize("feed", ["../bad feed", "nonsense", ""])
def test_an_unknown_feed_is_refused_naming_the_known_ones(work: Path, lake: Path, feed: str) -> None:
    source = ticks_csv(work)
    before = tree(work)
    with pytest.raises(CommandError) as caught:
        call_command("import_ticks", str(source), "--symbol", "ESZ26", "--feed", feed)
    assert f"--feed {feed!r} is not a known feed; known: simulator, replay" in str(caught.value)
    assert tree(work) == before


def test_a_known_feed_is_stored_with_the_rows(work: Path, lake: Path) -> None:
    call_command("import_ticks", str(ticks_csv(work)), "--symbol", "esz26", "--feed", "sierra")
    assert lake_connection(lake).execute("select symbol, feed from tick_data").fetchall() == [("ESZ26", "sierra")]


@pytest.mark.parametrize(
    ("arguments", "field", "named"),
    [
        ({"table": "../tick_data"}, "table", "unknown lake table '../tick_data'"),
        ({"symbol": OUTSIDE}, "symbol", repr(OUTSIDE)),
        ({"symbol": "hello world"}, "symbol", "'hello world'"),
        ({"symbol": "ESZ6"}, "symbol", "'ESZ6' is a feed form"),
        ({"symbol": "ESZ26_FUT_CME"}, "symbol", "'ESZ26_FUT_CME' is a feed form"),
        ({"day": "2026-11-24/../../x"}, "date", "must be a calendar date"),
    ],
)
def test_the_path_builder_refuses_what_is_not_a_known_value(
    lake: Path, arguments: dict[str, object], field: str, named: str
) -> None:
    values: dict[str, object] = {"table": "tick_data", "day": date(2026, 11, 24), "symbol": "ESZ26", **arguments}
    with pytest.raises(LakePathError) as caught:
        partition_dir(lake=lake, **values)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert named in caught.value.message


@pytest.mark.parametrize("name", ["../x.parquet", "a/b.parquet", ".hidden.parquet", "x.csv", ""])
def test_a_file_name_is_one_plain_parquet_name(lake: Path, name: str) -> None:
    with pytest.raises(LakePathError, match=r"is not a plain \.parquet name"):
        partition_file(lake=lake, table="tick_data", day=date(2026, 11, 24), symbol="ESZ26", name=name)


def test_a_symlink_planted_in_the_lake_cannot_lead_out_of_it(work: Path, lake: Path) -> None:
    (work / "elsewhere").mkdir()
    (lake / "tick_data").mkdir(parents=True)
    os.symlink(work / "elsewhere", lake / "tick_data" / "date=2026-11-24")
    with pytest.raises(LakePathError, match="outside the lake"):
        partition_dir(lake=lake, table="tick_data", day=date(2026, 11, 24), symbol="ESZ26")
    source = ticks_csv(work, symbol="ESZ26")
    with pytest.raises(CommandError, match=r"'ESZ26' would write to .*, outside the lake"):
        call_command("import_ticks", str(source))
    assert tree(work / "elsewhere") == []


def test_the_flush_refuses_a_stream_whose_symbol_is_not_canonical_and_flushes_the_others(lake: Path) -> None:
    at = datetime(2026, 11, 24, 15, tzinfo=UTC)
    write([[trade(1, 6000.0, symbol="ESZ26", base=at)]])
    # A writer that skipped the edge's mapping: a feed form, which the key builder lets through.
    write([[trade(2, 6000.0, symbol="ESZ6", base=at)]])
    results = {result.key: result for result in streams_flush(client=get_redis(), lake=lake)}
    assert results[keys.trades("ESZ26")].rows == 1
    refused = results[keys.trades("ESZ6")]
    assert refused.rows == 0
    assert "'ESZ6' is a feed form" in (refused.error or "")
    assert [path.parent.name for path in lake.rglob("*.parquet")] == ["symbol=ESZ26"]
    assert get_redis().xpending(keys.trades("ESZ6"), keys.LAKE_GROUP)["pending"] == 1, "kept for a fixed flush"


def test_compaction_leaves_a_directory_the_path_builder_would_not_make(lake: Path) -> None:
    day = datetime(2026, 11, 20, 15, tzinfo=UTC)
    write([[trade(1, 6000.0, base=day, side=Side.BUY)]])
    streams_flush(client=get_redis(), lake=lake)
    good = next(lake.rglob("*.parquet")).parent
    # What an import on main used to make from `--symbol "hello world"`.
    odd = good.parent / "symbol=HELLO WORLD"
    odd.mkdir()
    for index in range(2):
        (odd / f"import-{index}.parquet").write_bytes((next(good.glob("*.parquet"))).read_bytes())
    result = partition_compact(lake=lake, partition=odd)
    assert "'HELLO WORLD'" in (result.skipped or "")
    assert sorted(path.name for path in odd.iterdir()) == ["import-0.parquet", "import-1.parquet"]
    assert not (lake / ".staging").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("package", "category"), [("classic", "nonsense"), ("classic", "gamma_zero"), ("state", "../x")]
)
def test_gex_history_with_an_unknown_category_is_refused_naming_the_known_ones(
    work: Path, lake: Path, package: str, category: str
) -> None:
    history = work / "history.json"
    history.write_text('[{"timestamp": 1795962600, "ticker": "SPX", "spot": 6700.0, "strikes": []}]')
    before = tree(work)
    with pytest.raises(CommandError) as caught:
        call_command(
            "import_gex_history", "--file", str(history), "--package", package, "--category", category, "--wait"
        )
    assert f"category {category!r} is not a GEXBot {package} category; known: gex_full, gex_zero, gex_one" in str(
        caught.value
    )
    assert tree(work) == before
    assert not GEXImportJob.objects.exists()
    assert get_redis().exists(keys.gex_snapshots("SPX")) == 0
