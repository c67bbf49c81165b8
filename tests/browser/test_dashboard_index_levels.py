"""GEX levels of a cash index on a futures chart, in Chromium: with GEXBot configured to serve SPX
only, the ES chart takes SPX's levels (GEXBot's `/tickers` listed it, ES_SPX is not polled) and
draws them moved by the basis, the futures price minus the index's spot at the snapshot's time.
GEXBot itself is never called: the ticker list is what the hourly `/tickers` refresh leaves in
Redis."""

from __future__ import annotations

from typing import Any

import pytest

from apps.core import keys
from apps.core.clock import utc_now
from apps.core.redis import get_redis
from apps.core.runtime_config import clear_cache
from apps.core.services import runtime_setting_update
from apps.gex.services.snapshots import snapshot_record
from apps.gex.snapshots import GEXSnapshot, StrikeRow
from apps.marketdata.symbols import canonical
from tests.browser.test_dashboard import PASSWORD, artifacts_dir, chromium, platform  # noqa: F401 - fixtures

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None  # type: ignore[assignment]

BASIS = 40.0


@pytest.fixture
def process_env(process_env: dict[str, str]) -> dict[str, str]:
    """GEXBot switched on (its URL leads nowhere: nothing here calls it), SPX the only ticker."""
    runtime_setting_update(key="gex.tickers", value=["SPX"])
    clear_cache()
    get_redis().sadd(keys.gex_available_tickers("gexbot"), "SPX", "NDX")
    return {
        **process_env,
        "GEXBOT_ENABLED": "true",
        "GEXBOT_API_KEY": "gexbot_custom_browser-test-key",
        "GEXBOT_BASE_URL": "http://127.0.0.1:9/v2",
    }


@pytest.mark.slow
@pytest.mark.browser
def test_an_index_s_levels_are_moved_by_the_basis_onto_the_futures_chart(
    chromium: str,  # noqa: F811 - the fixture
    platform: str,  # noqa: F811 - the fixture
    django_user_model: Any,
) -> None:
    django_user_model.objects.create_user(username="indexer", password=PASSWORD, is_staff=True)
    lead = canonical("ES", at=utc_now())
    page_errors: list[str] = []
    assert sync_playwright is not None
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=["--disable-dev-shm-usage"])
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.set_default_timeout(30_000)
            page.on("pageerror", lambda error: page_errors.append(str(error)))
            page.goto(f"{platform}/")
            page.fill("#id_username", "indexer")
            page.fill("#id_password", PASSWORD)
            page.click("input[type=submit]")
            page.wait_for_url(f"{platform}/")
            assert page.eval_on_selector_all("#gex-ticker option", "o => o.map(x => x.value)") == ["SPX"]
            page.wait_for_function("() => Number(document.querySelector('#price-chart').dataset.bars) > 0")
            assert page.evaluate("() => window.dashboard.market.symbol") == lead

            # An SPX snapshot 40 points under the futures, taken at the last bar's time.
            last = page.evaluate("() => window.dashboard.market.bars.at(-1)")
            spot = last["close"] - BASIS
            snapshot = GEXSnapshot(
                ticker="SPX",
                package="classic",
                category="gex_zero",
                timestamp=int(last["time"]),
                spot=spot,
                zero_gamma=spot - 12.5,
                major_pos_oi=spot + 25,
                major_neg_oi=spot - 30,
                strikes=tuple(
                    StrikeRow(strike=round(spot / 5) * 5 + 5 * i, gex_vol=1.0, gex_oi=1.0) for i in range(-5, 6)
                ),
            )
            assert snapshot_record(snapshot=snapshot) is not None
            page.wait_for_function("() => document.querySelectorAll('#price-chart .level-label').length === 3")
            labels = page.eval_on_selector_all(
                "#price-chart .level-label",
                "l => l.map(x => [x.dataset.level, Number(x.dataset.sourcePrice), Number(x.dataset.price)])",
            )
            basis = float(page.get_attribute("#price-chart", "data-basis") or "nan")
            # The futures bar at the snapshot's time may have moved on since it was read.
            assert abs(basis - BASIS) <= 5
            assert sorted(labels) == sorted(
                [
                    ["zero", snapshot.zero_gamma, snapshot.zero_gamma + basis],
                    ["pos", snapshot.major_pos_oi, snapshot.major_pos_oi + basis],
                    ["neg", snapshot.major_neg_oi, snapshot.major_neg_oi + basis],
                ]
            )
            assert "SPX" in (page.get_attribute("#price-chart", "data-levels-of") or "")
            page.screenshot(path=str(artifacts_dir() / "dashboard-index-levels.png"), full_page=True)
        finally:
            browser.close()
    assert not page_errors, page_errors
