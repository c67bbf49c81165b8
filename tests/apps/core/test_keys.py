"""Contract: the Redis key and channel names. Renaming one strands data written under the old
name, so a change here must be deliberate (and migrate the data)."""

from __future__ import annotations

import pytest
from redis.crc import key_slot

from apps.core import keys


def test_per_symbol_keys_are_pinned() -> None:
    assert keys.trades("ESZ25") == "md:trades:{ESZ25}"
    assert keys.quotes("ESZ25") == "md:quotes:{ESZ25}"
    assert keys.depth("ESZ25") == "md:depth:{ESZ25}"
    assert keys.last("ESZ25") == "md:last:{ESZ25}"
    assert keys.gex_snapshot("SPX", "gex_full") == "gex:snapshot:{SPX}:gex_full"
    assert keys.vendor_bars("schwab", "ESZ25") == "md:vendor_bars:schwab:1m:{ESZ25}"
    assert keys.vendor_summary("tastytrade", "ESZ25") == "md:vendor_summary:tastytrade:{ESZ25}"
    assert keys.vendor_greeks("tastytrade", "ESZ25") == "md:vendor_greeks:tastytrade:{ESZ25}"


def test_shared_keys_and_channels_are_pinned() -> None:
    assert keys.gex_snapshots("ES_SPX") == "gex:snapshots:{ES_SPX}"
    assert keys.gex_recorded("SPX") == "gex:recorded:{SPX}"
    assert keys.gex_rate_limit("SPX", "classic-gex_zero") == "gex:ratelimit:{SPX}:classic-gex_zero"
    assert keys.GEX_POLL_SKIPPED == "gex:poll:skipped"
    assert keys.GEX_POLL_LAST == "gex:poll:last"
    assert keys.gex_available_tickers("gexbot") == "gex:tickers:gexbot"
    assert keys.gex_breaker("gexbot") == "gex:breaker:{gexbot}"
    assert keys.gex_import(42) == "gex:import:42"
    assert (keys.UW_OPTION_TRADE, keys.UW_FLOW_ALERT, keys.UW_MARKET_AGG) == (
        "uw:option_trade",
        "uw:flow_alert",
        "uw:market_agg",
    )
    assert (keys.UW_OPTION_TRADES, keys.UW_FLOW_ALERTS, keys.UW_MARKET_AGGS, keys.UW_NEWS) == (
        "uw:option_trade:{UW}",
        "uw:flow_alert:{UW}",
        "uw:market_agg:{UW}",
        "uw:news:{UW}",
    )
    assert keys.uw_seen("flow_alert") == "uw:seen:flow_alert:{UW}"
    assert keys.uw_price("SPY") == "uw:price:{SPY}"
    assert keys.ALERTS_FIRED == "alerts:fired"
    assert keys.MD_GAPS == "md:gaps"
    assert keys.MD_STORE_OUTAGES == "md:store_outages"
    assert keys.streamer("tastytrade") == "streamer:tastytrade"
    assert keys.dead_letter("schwab") == "deadletter:schwab"
    assert keys.STREAMER_STATUS_PATTERN == "streamer:*"
    assert keys.streamer_control("schwab") == "control:streamer:schwab"
    assert keys.api_rate_limit("token-12") == "api:ratelimit:token-12"
    assert keys.trades_channel("tastytrade") == "market_data:tastytrade:trades"
    assert keys.GEX_SNAPSHOT_CHANNEL == "gex:snapshot:stream"
    assert keys.UW_MARKET_AGG_CHANNEL == "uw:market_agg:stream"
    assert keys.UW_OPTION_TRADE_CHANNEL == "uw:option_trade:stream"
    assert keys.RUNTIME_CONFIG_VERSION == "runtime:config:version"
    assert keys.BEAT_LOCK == "beat:lock"
    assert keys.lake_checkpoint(keys.trades("ESZ25")) == "lake:checkpoint:md:trades:{ESZ25}"
    assert keys.lake_lock(keys.trades("ESZ25")) == "lake:lock:md:trades:{ESZ25}"
    assert keys.LAKE_GROUP == "lake"


def test_keys_of_one_symbol_share_a_cluster_slot() -> None:
    symbol_keys = [
        keys.trades("ESZ25"),
        keys.quotes("ESZ25"),
        keys.depth("ESZ25"),
        keys.last("ESZ25"),
        keys.gex_snapshot("ESZ25", "gex_zero"),
    ]
    assert len({key_slot(key.encode()) for key in symbol_keys}) == 1
    assert key_slot(keys.trades("ESZ25").encode()) != key_slot(keys.trades("NQZ25").encode())


def test_a_uw_stream_and_its_dedup_set_share_a_cluster_slot() -> None:
    """One Lua call checks the ids and appends the new events: both keys must be on one node."""
    for stream, kind in (
        (keys.UW_OPTION_TRADES, "option_trade"),
        (keys.UW_FLOW_ALERTS, "flow_alert"),
        (keys.UW_MARKET_AGGS, "market_agg"),
    ):
        assert key_slot(stream.encode()) == key_slot(keys.uw_seen(kind).encode())


@pytest.mark.parametrize("symbol", ["esz25", "/ESZ25", "ES Z25", "", "{ES}"])
def test_non_canonical_symbol_is_refused_with_its_name(symbol: str) -> None:
    with pytest.raises(ValueError, match="is not canonical"):
        keys.trades(symbol)


def test_a_replay_sandbox_has_the_live_layout_under_its_own_hash_tag() -> None:
    sandbox = keys.KeySpace.replay("nov20-es")
    assert sandbox.trades("ESZ26") == "replay:{nov20-es}:md:trades:ESZ26"
    assert sandbox.quotes("ESZ26") == "replay:{nov20-es}:md:quotes:ESZ26"
    assert sandbox.depth("ESZ26") == "replay:{nov20-es}:md:depth:ESZ26"
    assert sandbox.last("ESZ26") == "replay:{nov20-es}:md:last:ESZ26"
    assert sandbox.gaps == "replay:{nov20-es}:md:gaps"
    assert sandbox.streamer("replay") == "replay:{nov20-es}:streamer:replay"
    assert sandbox.dead_letter("replay") == "replay:{nov20-es}:deadletter:replay"
    assert sandbox.trades_channel("replay") == "replay:{nov20-es}:market_data:replay:trades"
    assert keys.replay_state("nov20-es") == "replay:{nov20-es}"
    assert keys.replay_keys_pattern("nov20-es") == "replay:{nov20-es}*"
    assert keys.REPLAY_STATE_PATTERN == "replay:{*}"
    # The live store is the layout above, unchanged.
    assert keys.LIVE.trades("ESZ26") == keys.trades("ESZ26")
    assert keys.LIVE.is_live
    assert not sandbox.is_live
    assert keys.KeySpace.replay("nov20-es") == sandbox
    assert keys.KeySpace.replay("nov20-es") != keys.LIVE
    slots = {key_slot(key.encode()) for key in (sandbox.trades("ESZ26"), sandbox.last("NQZ26"), sandbox.gaps)}
    assert slots == {key_slot(keys.replay_state("nov20-es").encode())}, "one slot for the whole sandbox"
