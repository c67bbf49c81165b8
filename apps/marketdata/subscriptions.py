"""The symbols the streamers subscribe to, as the runtime setting `marketdata.symbols` names them
and as contracts at a given instant."""

from __future__ import annotations

from datetime import datetime

from apps.core.clock import utc_now
from apps.core.runtime_config import runtime_value
from apps.marketdata.symbols import canonical


def symbols_configured(*, at: datetime | None = None) -> list[tuple[str | None, str]]:
    """(alias, contract) for every symbol the streamers follow, once per contract; alias is None
    for a contract configured as such."""
    at = at or utc_now()
    found: dict[str, str | None] = {}
    for raw in runtime_value("marketdata.symbols"):
        contract = canonical(raw, at=at)
        alias = raw.strip().upper().lstrip("/")
        found[contract] = alias if alias != contract else found.get(contract)
    return [(alias, contract) for contract, alias in found.items()]
