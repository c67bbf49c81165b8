"""The contract of a Sierra Chart file from its name, in every form Sierra Chart installs use:

    ESZ25_FUT_CME.scid   ESZ25-CME.scid   ESZ5.CME.scid   ESZ25.scid   ESZ5.scid
    MESU26_FUT_CME.scid  ESZ25_FUT_CME.2025-12-19.depth   ESZ25-CME.2025-12-19.depth

A one-digit year is resolved against the file's own first record (the nearest year ending in
that digit), never by string concatenation. A continuous file (`ES_FUT_CME[CB].scid`, `ES.scid`)
names a root: its rows get the contract in force at their own time by the CME roll schedule
(apps/marketdata/symbols.py: eight calendar days before the third-Friday expiry).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

from apps.marketdata.symbols import ROOTS, SymbolError, canonical_check, parse_contract

_DEPTH_DAY = re.compile(r"\.(\d{4}-\d{2}-\d{2})$")
_CONTINUOUS = re.compile(r"\s*\[(CB|CBV|C|CV)\]$")
_EXCHANGE_DOT = re.compile(r"^(?P<body>.+)\.(?P<exchange>[A-Z]{2,6})$")


def file_stem(path: Path) -> tuple[str, date | None]:
    """The symbol part of a file name, and the day of a `.depth` file's name."""
    stem = path.name
    for suffix in (".scid", ".depth"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
    day = None
    match = _DEPTH_DAY.search(stem)
    if match:
        day = date.fromisoformat(match[1])
        stem = stem[: match.start()]
    return stem.strip().upper(), day


def sierra_symbol(raw: str, *, reference: datetime) -> str:
    """The canonical contract (`ESZ25`) or continuous root (`ES`) a Sierra Chart symbol names;
    SymbolError naming it when it is neither."""
    text = _CONTINUOUS.sub("", raw.strip().upper())
    dotted = _EXCHANGE_DOT.match(text)
    if dotted and not text.endswith(".depth"):
        text = dotted["body"]  # ESZ5.CME
    root = text.split("_FUT_")[0].split("-")[0]
    if root in ROOTS:
        return root
    try:
        return parse_contract(text, reference=reference.date()).code
    except SymbolError:
        try:
            return canonical_check(text)  # an index or stock file: SPX, AAPL
        except SymbolError:
            raise SymbolError(
                f"{raw!r} names no contract this platform knows (e.g. ESZ25_FUT_CME, ESZ25-CME, ESZ5.CME)"
            ) from None
