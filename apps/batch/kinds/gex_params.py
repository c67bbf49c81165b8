"""Parameters shared by the GEX enrichment and the bar export."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from apps.batch.gex_join import default_ticker
from apps.core.exceptions import BadInputError
from apps.marketdata.symbols import SymbolError, canonical, canonical_check

PACKAGES = ("classic", "state")


def _day(params: dict[str, str], name: str) -> date:
    value = params.get(name, "").strip()
    if not value:
        raise BadInputError(name, f"--param {name}=YYYY-MM-DD is required")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadInputError(name, f"--param {name}={value!r} is not a date (YYYY-MM-DD)") from None


def parse_gex_params(*, params: dict[str, str], known: set[str]) -> dict[str, Any]:
    """symbol= (ESZ25, or a root such as ES: each day's lead contract), from=/to= (UTC days),
    ticker= (GEXBot's, default ES_SPX for ES, NQ_NDX for NQ), package=, category=."""
    allowed = {"symbol", "from", "to", "ticker", "package", "category", *known}
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise BadInputError(unknown[0], f"unknown parameter {unknown[0]!r}; known: {', '.join(sorted(allowed))}")
    symbol = params.get("symbol", "").strip().upper()
    if not symbol:
        raise BadInputError("symbol", "--param symbol= is required (e.g. ESZ25 or ES)")
    try:
        canonical(symbol, at=datetime(2000, 1, 3, tzinfo=UTC))
    except SymbolError as error:
        raise BadInputError("symbol", f"--param symbol={symbol!r}: {error}") from None
    start, end = _day(params, "from"), _day(params, "to")
    if end < start:
        raise BadInputError("to", f"the range {start}..{end} ends before it starts")
    ticker = params.get("ticker", "").strip().upper() or default_ticker(symbol)
    if ticker is None:
        raise BadInputError("ticker", f"no default GEX ticker for {symbol!r}; pass --param ticker= (e.g. SPX)")
    try:
        canonical_check(ticker)
    except SymbolError as error:
        raise BadInputError("ticker", f"--param ticker={ticker!r}: {error}") from None
    package = params.get("package", "classic").strip()
    if package not in PACKAGES:
        raise BadInputError("package", f"--param package={package!r} must be one of {', '.join(PACKAGES)}")
    category = params.get("category", "gex_full").strip()
    if not category.replace("_", "").isalnum() or not category.islower():
        raise BadInputError("category", f"--param category={category!r} is not a GEX category (e.g. gex_full)")
    return {"symbol": symbol, "from": start.isoformat(), "to": end.isoformat(), "ticker": ticker,
            "package": package, "category": category}  # fmt: skip
