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
    assert (parsed.ms, parsed.seq, parsed.index) == (1764000000123, -1, 5)
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
