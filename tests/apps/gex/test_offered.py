"""The GEX tickers and categories a trader is offered: those this configuration fills, and for
each futures root the GEX ticker its chart shows (an index's levels marked for the basis)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from pytest_django import Settings

from apps.core import keys
from apps.core.redis import get_redis
from apps.core.runtime_config import clear_cache
from apps.core.services import runtime_setting_update
from apps.gex.offered import FuturesGEX, futures_gex, offered_categories, offered_tickers


@pytest.fixture
def configured(db: None) -> None:
    clear_cache()


def test_the_demo_offers_what_the_simulated_source_computes(configured: None, settings: Settings) -> None:
    settings.GEXBOT_ENABLED = False
    # The default configuration polls ES_SPX, NQ_NDX and SPX; the simulator has no SPX.
    assert offered_tickers() == ["ES_SPX", "NQ_NDX"]
    assert offered_categories() == ["gex_zero", "gex_full"]
    assert futures_gex(offered=offered_tickers())["ES"] == FuturesGEX(ticker="ES_SPX", index=False)
    assert futures_gex(offered=offered_tickers())["NQ"] == FuturesGEX(ticker="NQ_NDX", index=False)


def test_gexbot_offers_what_its_ticker_list_has_and_an_index_is_moved_by_the_basis(
    configured: None, settings: Settings
) -> None:
    settings.GEXBOT_ENABLED = True
    runtime_setting_update(key="gex.tickers", value=["SPX", "NDX", "AAPL", "ES_SPX"])
    runtime_setting_update(key="gex.excluded_tickers", value=["ES_SPX"])
    clear_cache()
    # Before GEXBot's /tickers was asked, every configured ticker may be filled.
    assert offered_tickers() == ["SPX", "NDX", "AAPL"]
    get_redis().sadd(keys.gex_available_tickers("gexbot"), "SPX", "ES_SPX", "AAPL")
    offered = offered_tickers()
    assert offered == ["SPX", "AAPL"], "NDX is not served; ES_SPX is excluded"
    assert futures_gex(offered=offered) == {
        "ES": FuturesGEX(ticker="SPX", index=True),
        "MES": FuturesGEX(ticker="SPX", index=True),
    }


def test_the_dashboard_offers_only_what_is_filled(configured: None, settings: Settings, django_user_model: Any) -> None:
    settings.GEXBOT_ENABLED = False
    client = Client()
    client.force_login(django_user_model.objects.create_user(username="desk", password="pw-desk-1", is_staff=True))
    html = client.get("/").content.decode()
    assert '<option value="ES_SPX">' in html
    assert '<option value="NQ_NDX">' in html
    assert '<option value="SPX">' not in html
    assert 'value="gex_one"' not in html
    assert '"ES": {"ticker": "ES_SPX", "index": false}' in html
