"""GEXBot wire format → snapshots: the vendor's documented examples parse to their exact values,
State zeros and nulls survive as sent, and every malformed shape is refused naming the field."""

from __future__ import annotations

import copy
import gzip
import json
from typing import Any

import pytest

from apps.gex.parsing import parse_chain, parse_history, parse_majors, parse_maxchange, parse_tickers
from apps.gex.snapshots import UNITS_GEXBOT, StrikeRow
from apps.gex.sources import GEXPayloadError
from tests.fakes.gexbot import HISTORY_FILE, payload


def official() -> dict[str, Any]:
    return json.loads(payload("classic_chain.json"))


def encode(body: Any) -> bytes:
    return json.dumps(body).encode()


def test_the_official_chain_example_parses_to_its_exact_values() -> None:
    snapshot = parse_chain(payload("classic_chain.json"), ticker="SPX", package="classic", category="zero")

    assert (snapshot.ticker, snapshot.package, snapshot.category) == ("SPX", "classic", "gex_zero")
    assert snapshot.timestamp == 1777492800
    assert (snapshot.min_dte, snapshot.sec_min_dte) == (0, 1)
    assert (snapshot.spot, snapshot.zero_gamma) == (7138.55, 7112.95)
    assert (snapshot.major_pos_vol, snapshot.major_pos_oi, snapshot.major_neg_vol, snapshot.major_neg_oi) == (
        7135,
        7200,
        7100,
        6900,
    )
    assert (snapshot.sum_gex_vol, snapshot.sum_gex_oi, snapshot.delta_risk_reversal) == (1712585.519, 51521.105, 0.118)
    assert snapshot.strikes == (
        StrikeRow(6890, -228.01, -86.9, (-240.55, -243.15, -245.22, -221.27, -220.12)),
        StrikeRow(6895, -48.47, 69.76, (-49.05, -46.76, -45.55, -45.53, -42.97)),
        StrikeRow(7380, 44.16, 75.99, (0, 47.7, 47.3, 0, 40.55)),
        StrikeRow(7385, 5.5, 14.27, (0, 0, 0, 0, 0)),
    )
    assert snapshot.max_priors == (
        (7140, 170979.742),
        (7135, 1145886.722),
        (7135, 997473.336),
        (7135, 1106210.715),
        (7135, 1128504.809),
        (7135, 1131150.488),
    )
    # Undocumented units are labelled, never rescaled.
    assert snapshot.units == UNITS_GEXBOT
    assert snapshot.source == "gexbot"


def test_state_zeros_stay_zero_and_short_or_missing_priors_are_kept_as_sent() -> None:
    snapshot = parse_chain(payload("state_chain.json"), ticker="SPX", package="state", category="gex_zero")

    assert [row.gex_oi for row in snapshot.strikes] == [0, 0, 0, 0]
    assert all(row.gex_oi is not None for row in snapshot.strikes)
    assert (snapshot.zero_gamma, snapshot.delta_risk_reversal, snapshot.sum_gex_oi) == (0, 0, 0)
    assert (snapshot.major_pos_oi, snapshot.major_neg_oi) == (0, 0)
    assert [row.priors for row in snapshot.strikes] == [
        (-240.55, -243.15, -245.22, -221.27, -220.12),
        (-49.05, -46.76, -45.55),  # short
        (),  # empty
        (),  # left out: a 3-element row
    ]
    assert snapshot.strikes[0].gex_vol == -231.4


def test_nulls_become_none_and_absent_fields_are_none() -> None:
    body = official()
    body["zero_gamma"] = None
    body["max_priors"] = None
    del body["delta_risk_reversal"]
    body["strikes"] = [[7100, None, None, [1.5, None, 2]], [7105, 3.25, None, None]]

    snapshot = parse_chain(encode(body), ticker="SPX", package="classic", category="gex_full")

    assert snapshot.zero_gamma is None
    assert snapshot.delta_risk_reversal is None
    assert snapshot.max_priors == ()
    assert snapshot.strikes == (StrikeRow(7100, None, None, (1.5, None, 2)), StrikeRow(7105, 3.25, None, ()))


def test_a_greek_profile_row_with_two_trailing_nulls_keeps_value_and_priors() -> None:
    snapshot = parse_chain(payload("state_gamma_zero.json"), ticker="SPX", package="state", category="gamma_zero")

    assert snapshot.category == "gamma_zero"
    assert snapshot.timestamp == 1777492800
    assert snapshot.spot == 7138.55
    assert snapshot.strikes == (
        StrikeRow(7100, -1523.77, None, (-1490.2, -1431.05, -1388.6)),
        StrikeRow(7150, 2210.4, None, (2198.33, 2150.9, 2101.12)),
    )
    assert (snapshot.major_pos_vol, snapshot.major_neg_vol) == (7150, 7100)
    assert snapshot.zero_gamma is None


def test_majors_and_maxchange_examples() -> None:
    majors = parse_majors(payload("classic_majors.json"), ticker="SPX", package="classic", category="full")
    assert majors.category == "gex_full"
    assert (majors.timestamp, majors.spot, majors.zero_gamma) == (1777492800, 7138.55, 7112.95)
    assert (majors.mpos_vol, majors.mpos_oi, majors.mneg_vol, majors.mneg_oi) == (7135, 7200, 7100, 6900)
    assert (majors.net_gex_vol, majors.net_gex_oi) == (1712585.519, 51521.105)

    change = parse_maxchange(payload("classic_maxchange.json"), ticker="SPX", package="classic", category="gex_zero")
    assert change.timestamp == 1777492800
    assert change.windows == {
        "current": (7140, 170979.742),
        "one": (7135, 1145886.722),
        "five": (7135, 997473.336),
        "ten": (7135, 1106210.715),
        "fifteen": (7135, 1128504.809),
        "thirty": (7135, 1131150.488),
    }

    partial = json.loads(payload("classic_maxchange.json"))
    partial["thirty"] = None
    del partial["fifteen"]
    windows = parse_maxchange(encode(partial), ticker="SPX", package="classic", category="gex_zero").windows
    assert list(windows) == ["current", "one", "five", "ten"]


def test_tickers_come_as_one_list_in_the_vendors_order() -> None:
    assert parse_tickers(payload("tickers.json")) == [
        "SPY",
        "QQQ",
        "IWM",
        "AAPL",
        "NVDA",
        "TSLA",
        "SPX",
        "NDX",
        "RUT",
        "VIX",
        "ES_SPX",
        "NQ_NDX",
    ]


def test_a_history_file_is_an_array_of_snapshots_gzip_or_not() -> None:
    data = payload(HISTORY_FILE)
    snapshots = list(parse_history(data, ticker="SPX", package="classic", category="full"))
    assert [snapshot.timestamp for snapshot in snapshots] == [1777469400, 1777469401, 1777469402]
    assert [snapshot.spot for snapshot in snapshots] == [7121.3, 7121.55, 7121.8]
    assert snapshots[0].strikes[0] == StrikeRow(6890, -201.4, -86.9, (-200.1, -199.8))
    assert all(snapshot.category == "gex_full" for snapshot in snapshots)

    assert list(parse_history(gzip.compress(data), ticker="SPX", package="classic", category="gex_full")) == snapshots


def _mutated(change: Any) -> bytes:
    body = copy.deepcopy(official())
    change(body)
    return encode(body)


def _set(path: list[Any], value: Any) -> Any:
    def change(body: Any) -> None:
        target = body
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return change


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_mutated(_set(["strikes", 3, 0], "abc")), "strikes[3][0]: expected a number, got 'abc'"),
        (_mutated(_set(["strikes", 1, 1], True)), "strikes[1][1]: expected a number, got True"),
        (_mutated(_set(["strikes", 0, 0], None)), "strikes[0][0]: strike is null"),
        (_mutated(_set(["strikes", 2], [7380, 44.16])), "strikes[2]: expected 3 or 4 elements"),
        (_mutated(_set(["strikes", 0, 3], 5)), "strikes[0][3]: expected an array of priors, got 5"),
        (_mutated(_set(["strikes", 0, 3, 2], "x")), "strikes[0][3][2]: expected a number, got 'x'"),
        (_mutated(_set(["strikes"], {"7100": 1})), "strikes: expected an array of rows, got an object"),
        (_mutated(_set(["max_priors", 2], [7135])), "max_priors[2]: expected [strike, value], got [7135]"),
        (_mutated(_set(["timestamp"], 1777492800.5)), "timestamp: expected integer Unix seconds, got 1777492800.5"),
        (_mutated(_set(["timestamp"], "1777492800")), "timestamp: expected integer Unix seconds, got '1777492800'"),
        (_mutated(_set(["timestamp"], 1777492800000)), "timestamp: 1777492800000 is not Unix seconds"),
        (_mutated(lambda body: body.pop("timestamp")), "timestamp: missing"),
        (_mutated(lambda body: body.pop("spot")), "spot: missing"),
        (_mutated(_set(["spot"], "7138.55")), "spot: expected a number, got '7138.55'"),
        (_mutated(_set(["min_dte"], 0.5)), "min_dte: expected a whole number, got 0.5"),
        (b'{"timestamp": 1777492800, "spot": 71', "body is not JSON"),
        (b"<html>502 Bad Gateway</html>", "it starts with b'<html>502 Bad Gateway</html>'"),
        (b"[1, 2]", "body: expected an object, got an array"),
        (b'{"error": "Invalid API key"}', "GEXBot answered with an error: Invalid API key"),
    ],
)
def test_a_malformed_chain_is_refused_naming_the_field(data: bytes, message: str) -> None:
    with pytest.raises(GEXPayloadError) as caught:
        parse_chain(data, ticker="SPX", package="classic", category="gex_zero")
    assert message in str(caught.value)
    assert str(caught.value).startswith("SPX/classic/gex_zero chain: ")


@pytest.mark.parametrize(
    ("parse", "data", "message"),
    [
        (
            parse_majors,
            b'{"timestamp": 1777492800, "spot": 7138.55, "mpos_vol": "7135"}',
            "mpos_vol: expected a number",
        ),
        (parse_majors, b'{"spot": 7138.55}', "timestamp: missing"),
        (parse_maxchange, b'{"timestamp": 1777492800, "five": [7135]}', "five: expected [strike, value], got [7135]"),
        (parse_maxchange, b'{"timestamp": 1777492800, "one": [7135, "big"]}', "one[1]: expected a number, got 'big'"),
        (parse_maxchange, b'{"error": "Forbidden"}', "GEXBot answered with an error: Forbidden"),
    ],
)
def test_malformed_majors_and_maxchange_are_refused_naming_the_field(parse: Any, data: bytes, message: str) -> None:
    with pytest.raises(GEXPayloadError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse(data, ticker="SPX", package="classic", category="gex_zero")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"stocks": ["SPY"], "futures": ["ES_SPX", 5]}', "futures[1]: expected a ticker name, got 5"),
        (b'{"stocks": "SPY"}', "stocks: expected an array of ticker names, got a string"),
        (b"{}", "no ticker groups"),
        (b"not json", "body is not JSON"),
    ],
)
def test_a_malformed_tickers_list_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(GEXPayloadError) as caught:
        parse_tickers(data)
    assert message in str(caught.value)


def test_a_bad_history_element_is_named_by_its_index() -> None:
    snapshots = json.loads(payload(HISTORY_FILE))
    snapshots[1]["strikes"][0][0] = "abc"
    with pytest.raises(GEXPayloadError) as caught:
        list(parse_history(encode(snapshots), ticker="SPX", package="classic", category="gex_full"))
    assert str(caught.value) == ("SPX/classic/gex_full history: [1].strikes[0][0]: expected a number, got 'abc'")

    snapshots = json.loads(payload(HISTORY_FILE))
    snapshots[2] = "oops"
    with pytest.raises(GEXPayloadError, match=r"\[2\]: expected a snapshot object, got a string"):
        list(parse_history(encode(snapshots), ticker="SPX", package="classic", category="gex_full"))

    del snapshots[2]
    del snapshots[0]["timestamp"]
    with pytest.raises(GEXPayloadError, match=r"\[0\]\.timestamp: missing"):
        list(parse_history(encode(snapshots), ticker="SPX", package="classic", category="gex_full"))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (payload("classic_chain.json"), "body: expected an array of snapshots, got an object"),
        (
            b'{"error": "Date outside the 90-day window"}',
            "GEXBot answered with an error: Date outside the 90-day window",
        ),
        (b"\x1f\x8b\x08\x00garbage", "looks gzip-compressed but does not decompress"),
        (b"", "body is not JSON"),
    ],
)
def test_a_history_file_that_is_not_an_array_is_refused_at_once(data: bytes, message: str) -> None:
    # Refused when called, before anything is iterated (so before anything is recorded).
    with pytest.raises(GEXPayloadError) as caught:
        parse_history(data, ticker="SPX", package="classic", category="gex_full")
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("parse", "served", "category", "missing"),
    [
        (parse_chain, "classic_majors.json", "gex_zero", "none of the chain fields (strikes)"),
        (parse_chain, "classic_maxchange.json", "gex_zero", "spot: missing"),
        (parse_chain, "classic_chain.json", "gamma_zero", "none of the greek profile fields (mini_contracts)"),
        (parse_majors, "classic_chain.json", "gex_zero", "none of the majors fields (mpos_vol, mpos_oi,"),
        (parse_majors, "classic_maxchange.json", "gex_zero", "spot: missing"),
        (parse_maxchange, "classic_chain.json", "gex_zero", "none of the maxchange fields (current, one,"),
        (parse_maxchange, "classic_majors.json", "gex_zero", "none of the maxchange fields"),
    ],
)
def test_another_endpoints_answer_is_refused(parse: Any, served: str, category: str, missing: str) -> None:
    """A body of the wrong shape (a majors object served for a chain, say) is never taken as an
    empty snapshot: each parser needs its own endpoint's fields."""
    with pytest.raises(GEXPayloadError) as refused:
        parse(payload(served), ticker="SPX", package="classic", category=category)
    assert missing in str(refused.value)
    assert str(refused.value).startswith("SPX/classic/")


def test_bodies_with_only_a_timestamp_and_spot_are_refused() -> None:
    bare = b'{"timestamp": 1777492800, "spot": 7138.55}'
    for parse in (parse_chain, parse_majors, parse_maxchange):
        with pytest.raises(GEXPayloadError, match="none of the"):
            parse(bare, ticker="SPX", package="classic", category="gex_zero")
    # Null values are still the vendor's way of saying "no value": the field is there.
    majors = parse_majors(
        b'{"timestamp": 1777492800, "spot": 7138.55, "mpos_vol": null}',
        ticker="SPX",
        package="classic",
        category="zero",
    )
    assert majors.mpos_vol is None
