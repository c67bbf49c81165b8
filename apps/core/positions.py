"""A position in a hot stream, parsed in one place.

Three forms of id name where a row came from:

- an entry id `<ms>-<seq>`, as Redis gives it: the whole entry;
- an item id `<ms>-<seq>:<index>`: one event of a block entry (a trade, a depth operation), as
  the lake's `stream_id` column and the REST and WebSocket ids carry it;
- an imported row's id `import:<digest>:<row>` (apps/storage/importers.py), or a Sierra Chart
  record's `sierra:<file id>:<record index>` (apps/batch/kinds/scid_import.py): a row that never
  went through Redis, so it has no stream position of its own.

The order, stated once: positions sort by (ms, seq, index), then by origin. An imported row is
placed by its exchange time: its millisecond, and as seq its nanoseconds within that millisecond
minus 1,000,000 (so -1,000,000 to -1: before every hot-store entry of that millisecond, imported
rows in nanosecond order), then its row number, then its digest (its origin), so two rows never
tie. For an imported trade the digest is its content's and the row counts identical trades of
one source; for a depth operation they are its file's content hash and its row in the file
(apps/storage/importers.py says why). An entry without an index stands for the whole entry and sorts after
every item of it (a client that saw the entry saw all of it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Redis stream ids are two unsigned 64-bit numbers.
_MAX_PART = 2**64 - 1
# Sorts an entry after every item of it; far above any index a block holds.
WHOLE_ENTRY = 2**62
_ITEM = re.compile(r"^(\d{1,20})-(\d{1,20})(?::(\d{1,18}))?$")
# The prefixes of imported rows' ids (`<prefix><digest>:<row>`).
IMPORTED_PREFIXES = ("import:", "sierra:")
_IMPORTED = re.compile(r"^(?:import|sierra):([0-9a-f]+):(\d{1,18})$")
_NS_PER_MS = 1_000_000
_FORMS = "<ms>-<seq>, <ms>-<seq>:<index>, import:<digest>:<row> or sierra:<file id>:<record>"


class StreamPositionError(ValueError):
    """Text that is not a stream position; the message names the text."""


@dataclass(frozen=True, order=True)
class StreamPosition:
    ms: int
    seq: int
    index: int | None = field(default=None, compare=False)
    # The comparison key: `index`, or WHOLE_ENTRY for an entry as a whole.
    _order: int = field(init=False, repr=False, compare=True)
    # An imported row's digest (its content's or its file's); empty for hot-store positions.
    origin: str = field(default="", kw_only=True)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_order", WHOLE_ENTRY if self.index is None else self.index)

    @classmethod
    def parse(cls, text: str, *, ts_event: int | None = None) -> StreamPosition:
        """`text` as a position. An imported row's id needs its exchange time `ts_event` (ns),
        which places it; without it the id is refused."""
        match = _ITEM.match(text)
        if match:
            ms, seq = int(match[1]), int(match[2])
            if ms > _MAX_PART or seq > _MAX_PART:
                raise StreamPositionError(f"{text!r} is not a stream position: a part exceeds 2^64-1")
            return cls(ms, seq, None if match[3] is None else int(match[3]))
        imported = _IMPORTED.match(text)
        if imported:
            if ts_event is None:
                raise StreamPositionError(
                    f"{text!r} is an imported row: it has no stream position without its exchange time"
                )
            return cls(ts_event // _NS_PER_MS, ts_event % _NS_PER_MS - _NS_PER_MS, int(imported[2]), origin=imported[1])
        raise StreamPositionError(f"{text!r} is not a stream position ({_FORMS})")

    @property
    def index_order(self) -> int:
        """The index as it sorts: WHOLE_ENTRY for an entry as a whole (the SQL of the lake's
        stream order uses the same number)."""
        return self._order

    @property
    def imported(self) -> bool:
        return self.seq < 0

    @property
    def entry(self) -> tuple[int, int]:
        """(ms, seq) of the entry this position is in."""
        return self.ms, self.seq

    @property
    def entry_text(self) -> str:
        """The entry's Redis id `<ms>-<seq>`."""
        if self.imported:
            raise StreamPositionError(f"{self!r} is an imported row: it has no Redis entry id")
        return f"{self.ms}-{self.seq}"

    def __str__(self) -> str:
        if self.imported:
            return f"imported row {self.index} at {self.ms} ms"
        return self.entry_text if self.index is None else f"{self.entry_text}:{self.index}"
