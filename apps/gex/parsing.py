"""GEXBot wire format → typed snapshots: pure functions of the response bytes, no I/O.

The shapes are GEXBot v2's (../shared/reference/gex_scid.md §1.3). Values are kept exactly as
sent: units are undocumented, so nothing is rescaled, and State mode's zeros (`_oi` values,
`zero_gamma`, `delta_risk_reversal`) stay 0 rather than becoming None. A value sent as null, or
a field left out, becomes None. Anything else that is not the documented shape raises
GEXPayloadError naming the field and index, e.g. `strikes[3][0]: expected a number, got 'abc'`.

Strike rows are positional, `[strike, gex_vol, gex_oi, [priors]]`; priors may be short, absent or
null. Greek categories of the State package (`gamma_zero`, `delta_one`, ...) answer with a greek
profile instead: rows `[strike, call_ivol, put_ivol, value, [priors], ?, ?]` under
`mini_contracts`. Those are mapped onto the same GEXSnapshot: `value` (index 3, as the vendor's
MT5 plugin reads it) becomes `gex_vol`, its priors (index 4) the priors, `gex_oi` is None, and
`major_positive`/`major_negative` fill `major_pos_vol`/`major_neg_vol`; the implied volatilities,
the trailing (often null) fields and `major_long_gamma`/`major_short_gamma` have no place in
GEXSnapshot and are dropped.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from typing import Any

import orjson

from apps.gex.snapshots import (
    MAXCHANGE_WINDOWS,
    GEXMajors,
    GEXMaxChange,
    GEXSnapshot,
    StrikeRow,
    category_canonical,
)
from apps.gex.sources import GEXPayloadError

GREEK_PREFIXES = ("delta", "gamma", "vanna", "charm")
# Legacy greek category aliases GEXBot still accepts (spec `category_state`).
GREEK_ALIASES = ("delta", "gamma", "vanna", "charm", "onedelta", "onegamma", "onevanna", "onecharm")
# Unix seconds below 10**10 reach the year 2286; a bigger integer is milliseconds or finer.
_MAX_SECONDS = 10**10
_SAMPLE = 60


def is_greek_category(category: str) -> bool:
    """True for State greek profiles (`gamma_zero`, `onevanna`, ...), which are not GEX chains."""
    return category in GREEK_ALIASES or category.split("_", 1)[0] in GREEK_PREFIXES


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SAMPLE else f"{text[:_SAMPLE]}..."


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def _fail(where: str, problem: str) -> GEXPayloadError:
    return GEXPayloadError(f"{where}: {problem}")


def _is_number(value: Any) -> bool:
    # bool is an int in Python, never a number in this format.
    return isinstance(value, int | float) and not isinstance(value, bool)


def _decode(data: bytes, what: str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise GEXPayloadError(f"{what}: body is not JSON ({error}); it starts with {_show(data[:_SAMPLE])}") from None


def _object(value: Any, where: str, what: str) -> dict[str, Any]:
    if isinstance(value, dict):
        if "error" in value:
            raise GEXPayloadError(f"{what}: GEXBot answered with an error: {value['error']}")
        return value
    raise GEXPayloadError(f"{what}: {where}: expected an object, got {_kind(value)}")


def _number(value: Any, where: str) -> float:
    if not _is_number(value):
        raise _fail(where, f"expected a number, got {_show(value)}")
    return float(value)


def _optional_number(value: Any, where: str) -> float | None:
    return None if value is None else _number(value, where)


def _optional_int(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if _is_number(value) and float(value).is_integer():
        return int(value)
    raise _fail(where, f"expected a whole number, got {_show(value)}")


def _timestamp(body: dict[str, Any], where: str) -> int:
    if "timestamp" not in body or body["timestamp"] is None:
        raise _fail(f"{where}timestamp", "missing")
    value = body["timestamp"]
    if not isinstance(value, int) or isinstance(value, bool):
        raise _fail(f"{where}timestamp", f"expected integer Unix seconds, got {_show(value)}")
    if not 0 < value < _MAX_SECONDS:
        raise _fail(f"{where}timestamp", f"{value} is not Unix seconds (milliseconds or finer?)")
    return value


def _spot(body: dict[str, Any], where: str) -> float:
    if body.get("spot") is None:
        raise _fail(f"{where}spot", "missing")
    return _number(body["spot"], f"{where}spot")


def _priors(value: Any, where: str) -> tuple[float | None, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _fail(where, f"expected an array of priors, got {_show(value)}")
    return tuple(_optional_number(item, f"{where}[{index}]") for index, item in enumerate(value))


def _strike(value: Any, where: str) -> float:
    if value is None:
        raise _fail(where, "strike is null")
    return _number(value, where)


def _gex_row(row: Any, where: str) -> StrikeRow:
    if not isinstance(row, list):
        raise _fail(where, f"expected [strike, gex_vol, gex_oi, [priors]], got {_show(row)}")
    if not 3 <= len(row) <= 4:
        raise _fail(where, f"expected 3 or 4 elements [strike, gex_vol, gex_oi, [priors]], got {len(row)}")
    return StrikeRow(
        strike=_strike(row[0], f"{where}[0]"),
        gex_vol=_optional_number(row[1], f"{where}[1]"),
        gex_oi=_optional_number(row[2], f"{where}[2]"),
        priors=_priors(row[3] if len(row) == 4 else None, f"{where}[3]"),
    )


def _greek_row(row: Any, where: str) -> StrikeRow:
    if not isinstance(row, list):
        raise _fail(where, f"expected [strike, call_ivol, put_ivol, value, [priors], ...], got {_show(row)}")
    if len(row) < 4:
        raise _fail(where, f"expected at least 4 elements [strike, call_ivol, put_ivol, value, ...], got {len(row)}")
    _optional_number(row[1], f"{where}[1]")
    _optional_number(row[2], f"{where}[2]")
    return StrikeRow(
        strike=_strike(row[0], f"{where}[0]"),
        gex_vol=_optional_number(row[3], f"{where}[3]"),
        gex_oi=None,
        priors=_priors(row[4] if len(row) > 4 else None, f"{where}[4]"),
    )


def _rows(body: dict[str, Any], field: str, where: str, parse_row: Any) -> tuple[StrikeRow, ...]:
    rows = body.get(field)
    if rows is None:
        return ()
    if not isinstance(rows, list):
        raise _fail(f"{where}{field}", f"expected an array of rows, got {_kind(rows)}")
    return tuple(parse_row(row, f"{where}{field}[{index}]") for index, row in enumerate(rows))


def _pair(value: Any, where: str) -> tuple[float, float]:
    if not isinstance(value, list) or len(value) != 2:
        raise _fail(where, f"expected [strike, value], got {_show(value)}")
    return (_number(value[0], f"{where}[0]"), _number(value[1], f"{where}[1]"))


def _max_priors(value: Any, where: str) -> tuple[tuple[float, float], ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _fail(where, f"expected an array of [strike, value], got {_kind(value)}")
    if len(value) > len(MAXCHANGE_WINDOWS):
        raise _fail(where, f"expected at most {len(MAXCHANGE_WINDOWS)} windows, got {len(value)}")
    return tuple(_pair(item, f"{where}[{index}]") for index, item in enumerate(value))


# Each endpoint's own fields: a body with none of them is another endpoint's answer (a majors
# object served for a chain, say), and storing it would replace good levels with nulls.
MAJORS_FIELDS = ("mpos_vol", "mpos_oi", "mneg_vol", "mneg_oi", "net_gex_vol", "net_gex_oi")


def _require(body: dict[str, Any], fields: tuple[str, ...], where: str, what: str) -> None:
    if not any(field in body for field in fields):
        raise _fail(
            f"{where}body" if where else "body",
            f"none of the {what} fields ({', '.join(fields)}); is this another endpoint's answer?"
            f" it has {', '.join(sorted(body)[:12]) or 'no fields'}",
        )


def _label(ticker: str, package: str, category: str, kind: str) -> str:
    return f"{ticker}/{package}/{category} {kind}"


def _chain_from(body: dict[str, Any], *, ticker: str, package: str, category: str, where: str = "") -> GEXSnapshot:
    def num(field: str) -> float | None:
        return _optional_number(body.get(field), f"{where}{field}")

    greek = is_greek_category(category)
    timestamp = _timestamp(body, where)
    spot = _spot(body, where)
    _require(body, ("mini_contracts",) if greek else ("strikes",), where, "greek profile" if greek else "chain")
    if greek:
        return GEXSnapshot(
            ticker=ticker,
            package=package,
            category=category,
            timestamp=timestamp,
            spot=spot,
            major_pos_vol=num("major_positive"),
            major_neg_vol=num("major_negative"),
            min_dte=_optional_int(body.get("min_dte"), f"{where}min_dte"),
            sec_min_dte=_optional_int(body.get("sec_min_dte"), f"{where}sec_min_dte"),
            strikes=_rows(body, "mini_contracts", where, _greek_row),
        )
    return GEXSnapshot(
        ticker=ticker,
        package=package,
        category=category,
        timestamp=timestamp,
        spot=spot,
        zero_gamma=num("zero_gamma"),
        major_pos_vol=num("major_pos_vol"),
        major_pos_oi=num("major_pos_oi"),
        major_neg_vol=num("major_neg_vol"),
        major_neg_oi=num("major_neg_oi"),
        sum_gex_vol=num("sum_gex_vol"),
        sum_gex_oi=num("sum_gex_oi"),
        delta_risk_reversal=num("delta_risk_reversal"),
        min_dte=_optional_int(body.get("min_dte"), f"{where}min_dte"),
        sec_min_dte=_optional_int(body.get("sec_min_dte"), f"{where}sec_min_dte"),
        strikes=_rows(body, "strikes", where, _gex_row),
        max_priors=_max_priors(body.get("max_priors"), f"{where}max_priors"),
    )


def _with_label(error: GEXPayloadError, label: str) -> GEXPayloadError:
    return GEXPayloadError(f"{label}: {error}")


def parse_chain(data: bytes, *, ticker: str, package: str, category: str) -> GEXSnapshot:
    """A chain (`basic_response`, or a greek profile for greek categories) for one ticker and category."""
    category = category_canonical(category)
    label = _label(ticker, package, category, "chain")
    body = _object(_decode(data, label), "body", label)
    try:
        return _chain_from(body, ticker=ticker, package=package, category=category)
    except GEXPayloadError as error:
        raise _with_label(error, label) from None


def parse_majors(data: bytes, *, ticker: str, package: str, category: str) -> GEXMajors:
    """The `/majors` object: the major levels without the strike rows."""
    category = category_canonical(category)
    label = _label(ticker, package, category, "majors")
    body = _object(_decode(data, label), "body", label)
    try:
        timestamp, spot = _timestamp(body, ""), _spot(body, "")
        _require(body, MAJORS_FIELDS, "", "majors")
        return GEXMajors(
            ticker=ticker,
            package=package,
            category=category,
            timestamp=timestamp,
            spot=spot,
            zero_gamma=_optional_number(body.get("zero_gamma"), "zero_gamma"),
            mpos_vol=_optional_number(body.get("mpos_vol"), "mpos_vol"),
            mpos_oi=_optional_number(body.get("mpos_oi"), "mpos_oi"),
            mneg_vol=_optional_number(body.get("mneg_vol"), "mneg_vol"),
            mneg_oi=_optional_number(body.get("mneg_oi"), "mneg_oi"),
            net_gex_vol=_optional_number(body.get("net_gex_vol"), "net_gex_vol"),
            net_gex_oi=_optional_number(body.get("net_gex_oi"), "net_gex_oi"),
        )
    except GEXPayloadError as error:
        raise _with_label(error, label) from None


def parse_maxchange(data: bytes, *, ticker: str, package: str, category: str) -> GEXMaxChange:
    """The `/maxchange` object: `[strike, value]` per window; a window sent as null or left out is absent."""
    category = category_canonical(category)
    label = _label(ticker, package, category, "maxchange")
    body = _object(_decode(data, label), "body", label)
    try:
        timestamp = _timestamp(body, "")
        _require(body, MAXCHANGE_WINDOWS, "", "maxchange")
        windows = {window: _pair(body[window], window) for window in MAXCHANGE_WINDOWS if body.get(window) is not None}
        return GEXMaxChange(ticker=ticker, package=package, category=category, timestamp=timestamp, windows=windows)
    except GEXPayloadError as error:
        raise _with_label(error, label) from None


def parse_tickers(data: bytes) -> list[str]:
    """The `/tickers` object (`{"stocks": [...], "indexes": [...], "futures": [...]}`) as one list,
    in the order the groups came, without duplicates."""
    label = "tickers"
    body = _object(_decode(data, label), "body", label)
    found: dict[str, None] = {}
    groups = 0
    for group, names in body.items():
        if not isinstance(names, list):
            raise GEXPayloadError(f"{label}: {group}: expected an array of ticker names, got {_kind(names)}")
        groups += 1
        for index, name in enumerate(names):
            if not isinstance(name, str) or not name:
                raise GEXPayloadError(f"{label}: {group}[{index}]: expected a ticker name, got {_show(name)}")
            found[name] = None
    if not groups:
        raise GEXPayloadError(f"{label}: no ticker groups (expected stocks, indexes, futures)")
    return list(found)


def parse_history(data: bytes, *, ticker: str, package: str, category: str) -> Iterator[GEXSnapshot]:
    """A history file: the vendor's JSON array of snapshots (gzip-compressed or not), each of the
    live chain's shape. The body is checked to be an array at once; each element is parsed as it
    is reached, and an error names its index, e.g. `[12].strikes[3][0]: ...`."""
    category = category_canonical(category)
    label = _label(ticker, package, category, "history")
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as error:
            raise GEXPayloadError(f"{label}: body looks gzip-compressed but does not decompress: {error}") from None
    elements = _decode(data, label)
    if isinstance(elements, dict):
        _object(elements, "body", label)  # raises for {"error": ...}
    if not isinstance(elements, list):
        raise GEXPayloadError(f"{label}: body: expected an array of snapshots, got {_kind(elements)}")
    return _history_elements(elements, ticker=ticker, package=package, category=category, label=label)


def _history_elements(
    elements: list[Any], *, ticker: str, package: str, category: str, label: str
) -> Iterator[GEXSnapshot]:
    for index, element in enumerate(elements):
        where = f"[{index}]"
        try:
            if not isinstance(element, dict):
                raise _fail(where, f"expected a snapshot object, got {_kind(element)}")
            yield _chain_from(element, ticker=ticker, package=package, category=category, where=f"{where}.")
        except GEXPayloadError as error:
            raise _with_label(error, label) from None
