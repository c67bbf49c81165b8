"""The GEXDataSource interface: GEXBot's API, the local calculator and the simulator's
synthetic chain all answer these calls, so the poller can switch between them."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from apps.gex.snapshots import GEXMajors, GEXMaxChange, GEXSnapshot


class GEXSourceError(Exception):
    """A source could not answer; the message says which request and why."""


class GEXPayloadError(GEXSourceError):
    """A response was not the documented shape; the message names the field. Nothing of it is stored."""


class GEXSourceUnavailable(GEXSourceError):  # noqa: N818 - reads as a state, like TimeoutError's kin
    """The source is known to be failing (its circuit breaker is open): the call was not made."""


@runtime_checkable
class GEXDataSource(Protocol):
    name: str

    def tickers(self) -> list[str]:
        """Tickers this source can answer for."""
        ...

    def chain(self, *, ticker: str, package: str, category: str) -> GEXSnapshot:
        """The latest per-strike snapshot for one ticker and category."""
        ...

    def majors(self, *, ticker: str, package: str, category: str) -> GEXMajors: ...

    def maxchange(self, *, ticker: str, package: str, category: str) -> GEXMaxChange: ...
