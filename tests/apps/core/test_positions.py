"""The one parser of stream positions, and the one order of them."""

from __future__ import annotations

import pytest

from apps.core.positions import StreamPosition, StreamPositionError

NS = 1_764_000_000_123_456_789  # an exchange time in nanoseconds (millisecond 1764000000123)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1764000000000-0", StreamPosition(1764000000000, 0)),
        ("1764000000000-7", StreamPosition(1764000000000, 7)),
        ("1764000000000-7:41", StreamPosition(1764000000000, 7, 41)),
        ("0-0", StreamPosition(0, 0)),
        ("18446744073709551615-18446744073709551615", StreamPosition(2**64 - 1, 2**64 - 1)),
    ],
)
def test_entry_and_item_ids_parse(text: str, expected: StreamPosition) -> None:
    parsed = StreamPosition.parse(text)
    assert parsed == expected
    assert parsed.index == expected.index
    assert str(parsed) == text
    assert parsed.entry == (expected.ms, expected.seq)
    assert not parsed.imported


def test_an_imported_row_is_placed_by_its_exchange_time_and_file_row() -> None:
    parsed = StreamPosition.parse("import:0123abcd:5", ts_event=NS)
    # Its millisecond; its nanoseconds within it (456,789) less a million; its row; its file.
    assert (parsed.ms, parsed.seq, parsed.index, parsed.origin) == (1764000000123, 456_789 - 1_000_000, 5, "0123abcd")
    assert parsed.imported
    with pytest.raises(StreamPositionError, match="has no Redis entry id"):
        _ = parsed.entry_text


def test_an_imported_row_without_its_time_is_refused_naming_the_id() -> None:
    with pytest.raises(StreamPositionError, match=r"'import:0123abcd:5' is an imported row"):
        StreamPosition.parse("import:0123abcd:5")


@pytest.mark.parametrize(
    "text",
    ["", "yesterday", "1764000000000", "1764000000000-", "-1-0", "1-0:", "1-0:x", "1-0:3:4", "a-b",
     "18446744073709551616-0", "import:xyz:1", "import:abcd:", " 1-0"],
)  # fmt: skip
def test_malformed_ids_are_refused_naming_the_text(text: str) -> None:
    with pytest.raises(StreamPositionError) as refused:
        StreamPosition.parse(text, ts_event=NS)
    assert repr(text) in str(refused.value)
    assert isinstance(refused.value, ValueError)


def test_the_order_is_ms_seq_index_imports_first_in_their_millisecond_entries_after_their_items() -> None:
    texts = ["1764000000123-0:1", "1764000000123-0", "1764000000123-0:0", "1764000000122-9:0", "1764000000123-1:0"]
    positions = [StreamPosition.parse(text) for text in texts]
    imported = [StreamPosition.parse(f"import:ab:{row}", ts_event=NS) for row in (2, 0)]
    ordered = sorted([*positions, *imported])
    assert [str(position) for position in ordered] == [
        "1764000000122-9:0",
        str(imported[1]),
        str(imported[0]),
        "1764000000123-0:0",
        "1764000000123-0:1",
        "1764000000123-0",
        "1764000000123-1:0",
    ]
    assert len({StreamPosition(1, 0, 3), StreamPosition.parse("1-0:3")}) == 1


def test_imported_rows_sort_by_nanosecond_then_row_then_file_and_two_files_never_tie() -> None:
    early = StreamPosition.parse("import:bb:9", ts_event=NS - 1)
    same_ns = [StreamPosition.parse(f"import:{digest}:0", ts_event=NS) for digest in ("bb", "aa")]
    later_row = StreamPosition.parse("import:aa:1", ts_event=NS)
    ordered = sorted([later_row, *same_ns, early])
    assert [(p.origin, p.index) for p in ordered] == [("bb", 9), ("aa", 0), ("bb", 0), ("aa", 1)]
    assert same_ns[0] != same_ns[1]


def test_the_lakes_sql_order_is_the_same_order() -> None:
    """DuckDB sorts lake rows by `position_sql`; Python by StreamPosition: the same sequence."""
    import duckdb

    from apps.storage.stream_order import position_sql

    rows = [
        ("1764000000123-0:1", NS),
        ("1764000000123-0", NS),
        ("1764000000123-0:0", NS),
        ("1764000000122-9:0", NS),
        ("1764000000123-1:0", NS),
        ("import:bb:9", NS - 1),
        ("import:bb:0", NS),
        ("import:aa:0", NS),
        ("import:123456:1", NS),
    ]
    values = ", ".join(f"('{text}', {ts})" for text, ts in rows)
    sql = f"""
        select stream_id from (
            select stream_id, {position_sql("ts")} from (values {values}) as rows (stream_id, ts)
        ) order by e_ms, e_seq, e_index, stream_id
    """
    in_sql = [row[0] for row in duckdb.connect().execute(sql).fetchall()]
    in_python = sorted(rows, key=lambda row: StreamPosition.parse(row[0], ts_event=row[1]))
    assert in_sql == [text for text, _ in in_python]
