"""GEX sources computed on this machine, answering the GEXDataSource calls like GEXBot does.

`LocalChainSource` computes snapshots, majors and max changes from whatever option chain its
provider returns. `SimulatedGEXSource` is the demo: a synthetic chain around the futures price the
simulator streams into the hot store, so the levels follow the simulated market.

Packages: the local calculator computes GEXBot's "classic" (naive, unsigned) GEX, so `local` and
`classic` are answered; snapshots say `package="local"`. `state` (signed dealer positioning)
is refused.

Max change and priors: each source keeps, per ticker and category, the by-volume strike values
of the snapshots it computed during the last 30 minutes (in memory, per process). A window
(1, 5, 10, 15, 30 minutes) is answered from the latest snapshot taken at least that long ago,
and no more than `history_tolerance` seconds earlier; without one the window is left out.
"current" is the strike with the largest by-volume net GEX in size now, with its value; a window's
entry is the strike whose by-volume GEX changed most in size since then, with the signed change.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import msgspec
import numpy as np
import redis

from apps.core import keys
from apps.core.clock import utc_now
from apps.core.redis import get_redis
from apps.gex.calculator import (
    Basis,
    GEXProfile,
    chain_for_category,
    compute_profile,
    profile_to_snapshot,
)
from apps.gex.chain import ChainError, OptionChain, synthetic_chain
from apps.gex.snapshots import (
    CATEGORIES,
    MAXCHANGE_WINDOWS,
    GEXMajors,
    GEXMaxChange,
    GEXSnapshot,
    StrikeRow,
    category_canonical,
)
from apps.gex.sources import GEXSourceError
from apps.marketdata.selectors import last_values
from apps.marketdata.symbols import SymbolError, canonical, parse_contract

ChainProvider = Callable[[str], OptionChain]
ANSWERED_PACKAGES = ("local", "classic")
WINDOW_MINUTES = {"one": 1, "five": 5, "ten": 10, "fifteen": 15, "thirty": 30}
DEFAULT_HISTORY_TOLERANCE = 60  # seconds


@dataclass(frozen=True)
class _Recorded:
    timestamp: int
    strikes: np.ndarray
    gex_vol: np.ndarray


def _largest_change(now: _Recorded, then: _Recorded) -> tuple[float, float] | None:
    """The strike whose by-volume GEX changed most in size from `then` to `now`, with the signed
    change; a strike listed in only one of them counts as 0 in the other."""
    strikes = np.union1d(now.strikes, then.strikes)
    if not strikes.size:
        return None
    current, before = np.zeros(strikes.size), np.zeros(strikes.size)
    current[np.searchsorted(strikes, now.strikes)] = now.gex_vol
    before[np.searchsorted(strikes, then.strikes)] = then.gex_vol
    change = current - before
    index = int(np.argmax(np.abs(change)))
    return float(strikes[index]), float(change[index])


class LocalChainSource:
    """GEX computed from the option chain `chain_provider(ticker)` returns.

    `profile` computes a chain's profile (pass `functools.partial(compute_profile, ...)` to change
    rates, time basis or sweep); `zero_gamma_basis` chooses the flip reported in snapshots.
    """

    name = "local"

    def __init__(
        self,
        chain_provider: ChainProvider,
        *,
        tickers: Sequence[str] = (),
        name: str | None = None,
        profile: Callable[[OptionChain], GEXProfile] = compute_profile,
        zero_gamma_basis: Basis = Basis.OI,
        history_tolerance: int = DEFAULT_HISTORY_TOLERANCE,
    ) -> None:
        self._provider = chain_provider
        self._tickers = list(tickers)
        if name is not None:
            self.name = name
        self._profile = profile
        self._zero_gamma_basis = zero_gamma_basis
        self._tolerance = history_tolerance
        self._history: dict[tuple[str, str], deque[_Recorded]] = {}
        self._lock = threading.Lock()

    def tickers(self) -> list[str]:
        return list(self._tickers)

    def chain(self, *, ticker: str, package: str, category: str) -> GEXSnapshot:
        snapshot, windows = self._compute(ticker, package, category)
        strikes = snapshot.strikes
        if len(windows) > 1:
            # Priors are positional (1, 5, 10, 15, 30 minutes ago): None where unknown.
            past = [windows.get(window) for window in WINDOW_MINUTES]
            strikes = tuple(
                StrikeRow(row.strike, row.gex_vol, row.gex_oi, tuple(_value_at(then, row.strike) for then in past))
                for row in strikes
            )
        return msgspec.structs.replace(snapshot, strikes=strikes, max_priors=_max_priors(windows))

    def majors(self, *, ticker: str, package: str, category: str) -> GEXMajors:
        snapshot, _ = self._compute(ticker, package, category)
        return GEXMajors(
            ticker=snapshot.ticker,
            package=snapshot.package,
            category=snapshot.category,
            timestamp=snapshot.timestamp,
            spot=snapshot.spot,
            zero_gamma=snapshot.zero_gamma,
            mpos_vol=snapshot.major_pos_vol,
            mpos_oi=snapshot.major_pos_oi,
            mneg_vol=snapshot.major_neg_vol,
            mneg_oi=snapshot.major_neg_oi,
            net_gex_vol=snapshot.sum_gex_vol,
            net_gex_oi=snapshot.sum_gex_oi,
            source=snapshot.source,
            units=snapshot.units,
        )

    def maxchange(self, *, ticker: str, package: str, category: str) -> GEXMaxChange:
        snapshot, windows = self._compute(ticker, package, category)
        return GEXMaxChange(
            ticker=snapshot.ticker,
            package=snapshot.package,
            category=snapshot.category,
            timestamp=snapshot.timestamp,
            windows=_changes(windows),
            source=snapshot.source,
            units=snapshot.units,
        )

    def _compute(self, ticker: str, package: str, category: str) -> tuple[GEXSnapshot, dict[str, _Recorded]]:
        """The snapshot now, and the recorded snapshots it is compared with: "current" (itself)
        and each window the history can answer."""
        if package not in ANSWERED_PACKAGES:
            raise GEXSourceError(
                f"{self.name} source: package {package!r} for {ticker} is not computed here "
                f"(answers {', '.join(ANSWERED_PACKAGES)}: naive GEX)"
            )
        name = category_canonical(category)
        if name not in CATEGORIES:
            raise GEXSourceError(
                f"{self.name} source: category {category!r} for {ticker} is not one of {', '.join(CATEGORIES)}"
            )
        try:
            chain = chain_for_category(self._provider(ticker), category=name)
            snapshot = profile_to_snapshot(
                self._profile(chain),
                ticker=ticker,
                category=name,
                source=self.name,
                zero_gamma_basis=self._zero_gamma_basis,
            )
        except ChainError as error:
            raise GEXSourceError(f"{self.name} source: {ticker} {name}: {error}") from error
        return snapshot, self._record(ticker, name, snapshot)

    def _record(self, ticker: str, category: str, snapshot: GEXSnapshot) -> dict[str, _Recorded]:
        now = _Recorded(
            snapshot.timestamp,
            np.array([row.strike for row in snapshot.strikes], dtype=np.float64),
            np.array([row.gex_vol or 0.0 for row in snapshot.strikes], dtype=np.float64),
        )
        oldest = now.timestamp - max(WINDOW_MINUTES.values()) * 60 - self._tolerance
        with self._lock:
            history = self._history.setdefault((ticker, category), deque())
            # The same second computed again (chain, then majors, then maxchange) replaces itself;
            # a clock that went back drops the snapshots it now precedes.
            while history and history[-1].timestamp >= now.timestamp:
                history.pop()
            while history and history[0].timestamp < oldest:
                history.popleft()
            windows = {"current": now}
            for window, minutes in WINDOW_MINUTES.items():
                target = now.timestamp - minutes * 60
                past = [item for item in history if target - self._tolerance <= item.timestamp <= target]
                if past:
                    windows[window] = past[-1]
            history.append(now)
        return windows


def _value_at(past: _Recorded | None, strike: float) -> float | None:
    if past is None:
        return None
    index = int(np.searchsorted(past.strikes, strike))
    if index < past.strikes.size and past.strikes[index] == strike:
        return float(past.gex_vol[index])
    return None


def _changes(windows: dict[str, _Recorded]) -> dict[str, tuple[float, float]]:
    now = windows["current"]
    result: dict[str, tuple[float, float]] = {}
    if now.strikes.size:
        index = int(np.argmax(np.abs(now.gex_vol)))
        result["current"] = (float(now.strikes[index]), float(now.gex_vol[index]))
    for window in WINDOW_MINUTES:
        if window in windows:
            change = _largest_change(now, windows[window])
            if change is not None:
                result[window] = change
    return result


def _max_priors(windows: dict[str, _Recorded]) -> tuple[tuple[float, float], ...]:
    """`max_priors` is positional (current, 1, 5, 10, 15, 30 minutes): it stops at the first
    window the history cannot answer."""
    changes = _changes(windows)
    priors = []
    for window in MAXCHANGE_WINDOWS:
        if window not in changes:
            break
        priors.append(changes[window])
    return tuple(priors)


# --- the demo source --------------------------------------------------------------------------

# GEXBot's futures tickers and the futures roots the simulator streams for them.
SIMULATED_UNDERLYINGS = {"ES_SPX": "ES", "NQ_NDX": "NQ", "ES": "ES", "NQ": "NQ"}
DEFAULT_SIMULATED_TICKERS = ("ES_SPX", "NQ_NDX")
DEFAULT_SEED = 20_251_219


class SimulatedGEXSource(LocalChainSource):
    """The demo's GEX: a synthetic chain (deterministic for a seed) around the last futures price
    in the hot store, recomputed on every call.

    `ES_SPX` and `ES` follow the ES lead contract (the continuous alias resolved by the roll
    rule at the clock's time), `NQ_NDX` and `NQ` the NQ lead; an explicit contract (`ESZ25`)
    follows that contract. Levels are in futures price space: the simulator has no cash index.
    GEXSourceError names the symbol when the hot store holds no price for it yet.
    """

    name = "simulated"

    def __init__(
        self,
        *,
        tickers: Sequence[str] = DEFAULT_SIMULATED_TICKERS,
        seed: int = DEFAULT_SEED,
        client: redis.Redis | None = None,
        clock: Callable[[], datetime] = utc_now,
        profile: Callable[[OptionChain], GEXProfile] = compute_profile,
        zero_gamma_basis: Basis = Basis.OI,
        history_tolerance: int = DEFAULT_HISTORY_TOLERANCE,
    ) -> None:
        super().__init__(
            self._synthetic_chain,
            tickers=tickers,
            profile=profile,
            zero_gamma_basis=zero_gamma_basis,
            history_tolerance=history_tolerance,
        )
        self._seed = seed
        self._client = client
        self._clock = clock

    def futures_symbol(self, ticker: str, *, at: datetime | None = None) -> str:
        """The canonical futures contract whose price a ticker follows (`ES_SPX` -> `ESZ25`)."""
        at = at or self._clock()
        raw = ticker.strip().upper()
        root = SIMULATED_UNDERLYINGS.get(raw)
        try:
            if root is not None:
                return canonical(root, at=at)
            contract = parse_contract(raw)
        except SymbolError as error:
            raise GEXSourceError(f"simulated source: ticker {ticker!r}: {error}") from error
        if contract.root not in set(SIMULATED_UNDERLYINGS.values()):
            raise GEXSourceError(
                f"simulated source: ticker {ticker!r} is not served "
                f"(serves {', '.join(SIMULATED_UNDERLYINGS)} and ES/NQ contracts)"
            )
        return contract.code

    def tickers(self) -> list[str]:
        """The configured tickers whose futures price is in the hot store now."""
        at = self._clock()
        served = []
        for ticker in self._tickers:
            try:
                self._price(ticker, self.futures_symbol(ticker, at=at))
            except GEXSourceError:
                continue
            served.append(ticker)
        return served

    def _price(self, ticker: str, symbol: str) -> float:
        try:
            values = last_values(symbol=symbol, client=self._client or get_redis())
        except redis.RedisError as error:
            raise GEXSourceError(f"simulated source: reading {keys.last(symbol)} for {ticker}: {error}") from error
        if "price" not in values:
            raise GEXSourceError(
                f"simulated source: no price for {symbol} (ticker {ticker}) in the hot store yet "
                f"({keys.last(symbol)}); is the simulator streaming {symbol}?"
            )
        return float(values["price"])

    def _synthetic_chain(self, ticker: str) -> OptionChain:
        at = self._clock()
        symbol = self.futures_symbol(ticker, at=at)
        return synthetic_chain(ticker=ticker, spot=self._price(ticker, symbol), as_of=at, seed=self._seed)
