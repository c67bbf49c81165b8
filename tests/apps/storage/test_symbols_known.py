"""Which symbols a REST request may ask for: a contract of a known futures root, a symbol some
table holds, or, in a replay, one its sandbox holds — and a sandbox's symbol is unknown live."""

from __future__ import annotations

from pathlib import Path

from apps.core import keys
from apps.core.redis import get_redis
from apps.storage.symbols_known import symbol_known


def test_a_known_root_s_contract_is_known_and_an_unheard_of_symbol_is_not(tmp_path: Path) -> None:
    assert symbol_known(symbol="ESZ26", lake=tmp_path)
    assert not symbol_known(symbol="ZZZQ", lake=tmp_path)


def test_a_symbol_stored_live_or_in_the_lake_is_known(tmp_path: Path) -> None:
    get_redis().xadd(keys.trades("AAPL"), {"d": "x"})
    assert symbol_known(symbol="AAPL", lake=tmp_path)
    (tmp_path / "tick_data" / "date=2026-11-20" / "symbol=MSFT").mkdir(parents=True)
    assert symbol_known(symbol="MSFT", lake=tmp_path)


def test_a_symbol_only_a_replay_holds_is_known_in_that_replay_alone(tmp_path: Path) -> None:
    sandbox = keys.KeySpace.replay("nov20-zzzq")
    get_redis().xadd(sandbox.trades("ZZZQ"), {"d": "x"})
    assert symbol_known(symbol="ZZZQ", keyspace=sandbox, lake=tmp_path)
    assert not symbol_known(symbol="ZZZQ", lake=tmp_path), "live, the sandbox's symbol is unknown"
    assert not symbol_known(symbol="ZZZQ", keyspace=keys.KeySpace.replay("other"), lake=tmp_path)
