"""The stream order of lake rows, in Python and in DuckDB SQL: the order of
apps/core/positions.py (StreamPosition), for rows that carry a `stream_id` and `ts_event`."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from apps.core.positions import IMPORTED_PREFIXES, WHOLE_ENTRY, StreamPosition

# Whether a row's `stream_id` is an imported row's (no hot-store position).
IMPORTED_SQL = "(" + " or ".join(f"starts_with(stream_id, '{prefix}')" for prefix in IMPORTED_PREFIXES) + ")"


def stream_order(stream_id: str, ts_event: int) -> StreamPosition:
    """A lake row's position: its hot-store position, or for an imported row its exchange time."""
    return StreamPosition.parse(stream_id, ts_event=ts_event)


def position_sql(ts_ns: str) -> str:
    """The same position as columns `e_ms, e_seq, e_index` of a select over rows with an item id
    `stream_id` (`<ms>-<seq>:<index>`, or an imported row's `import:<digest>:<row>`, placed at
    (its ms, its ns within the ms - 1,000,000, its row)); `ts_ns` is the SQL of the row's exchange
    time in nanoseconds. Ties (two files' rows) are broken by ordering on `stream_id` last."""
    entry = "split_part(stream_id, ':', 1)"
    return (
        f"coalesce(try_cast(split_part({entry}, '-', 1) as bigint), ({ts_ns}) // 1000000) as e_ms, "
        f"coalesce(try_cast(split_part({entry}, '-', 2) as bigint), ({ts_ns}) % 1000000 - 1000000) as e_seq, "
        f"case when {IMPORTED_SQL} then try_cast(split_part(stream_id, ':', 3) as bigint) "
        f"else coalesce(try_cast(nullif(split_part(stream_id, ':', 2), '') as bigint), {WHOLE_ENTRY}) end as e_index"
    )


def first_day(ms: int) -> date:
    """The first lake day that can hold rows of an entry of time `ms`: an entry's rows can carry
    exchange times a little before its id (late trades), so one day of margin."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).date() - timedelta(days=1)
