"""The symbols the streamers follow, as configured and as contracts on a given day."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from apps.core.services import runtime_setting_update
from apps.marketdata.subscriptions import symbols_configured

pytestmark = pytest.mark.django_db
# A Tuesday before the December 2026 roll (ESZ26 leads) and a Tuesday after it (ESH27 leads).
BEFORE_ROLL = datetime(2026, 11, 24, 15, tzinfo=UTC)
AFTER_ROLL = datetime(2026, 12, 15, 15, tzinfo=UTC)


def test_aliases_resolve_to_the_lead_contract_of_the_day_and_each_contract_is_listed_once() -> None:
    runtime_setting_update(key="marketdata.symbols", value=["ES", "/NQ", "ESZ26", "NQH27"])
    assert symbols_configured(at=BEFORE_ROLL) == [("ES", "ESZ26"), ("NQ", "NQZ26"), (None, "NQH27")]
    assert symbols_configured(at=AFTER_ROLL) == [("ES", "ESH27"), ("NQ", "NQH27"), (None, "ESZ26")]
