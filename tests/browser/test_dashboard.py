"""The dashboard in a real browser against the real platform pieces: the ASGI web process
(uvicorn) and a simulator streamer writing to the test Redis. A staff user signs in through the
admin's login form, the price chart fills from /api/bars and then moves with live trades from
/ws/trades, the streamer row shows the simulator connected, and the GEX panel goes from "no GEX
data yet" to a profile when a snapshot is recorded. A full-page screenshot is kept as an artifact.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from apps.core.clock import utc_now
from apps.core.embedded_redis import free_port
from apps.gex.services.snapshots import snapshot_record
from apps.gex.snapshots import GEXSnapshot, StrikeRow
from apps.marketdata.selectors import MAX_PAGE, trades_last
from apps.marketdata.symbols import canonical
from tests.conftest import ProcessGroup

try:
    from playwright.sync_api import Page, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None  # type: ignore[assignment]

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "dashboard-pass-1"


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


@pytest.fixture
def chromium() -> str:
    """Debian's chromium; the test is skipped without it (or without Playwright) only outside CI."""
    executable = chromium_path()
    if executable and sync_playwright is not None:
        return executable
    missing = (
        "chromium (apt-get install chromium)" if not executable else "playwright (pip install -r requirements-dev.txt)"
    )
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"the browser test must run in CI but {missing} is missing")
    pytest.skip(f"{missing} is not installed")


def artifacts_dir() -> Path:
    configured = os.environ.get("TEST_ARTIFACTS_DIR")
    directory = Path(configured) if configured else ROOT / "var" / "test-artifacts"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def wait_until(condition: Any, *, timeout: float, what: str, logs: ProcessGroup, names: tuple[str, ...]) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.25)
    output = "\n".join(f"--- {name}\n{logs.log(name)[-4000:]}" for name in names)
    pytest.fail(f"{what} not within {timeout} s\n{output}")


@pytest.fixture
def platform(processes: ProcessGroup, process_env: dict[str, str]) -> str:
    """The web process and a simulator streamer; yields the web base URL."""
    port = free_port()
    processes.start(
        "web",
        [
            sys.executable,
            "-m",
            "uvicorn",
            "pipeline_project.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--lifespan",
            "off",
        ],
        process_env,
    )
    processes.start(
        "simulator",
        [
            sys.executable,
            "manage.py",
            "run_streamer",
            "simulator",
            "--always-open",
            "--rate",
            "40",
            "--metrics-port",
            "0",
        ],
        process_env,
    )
    base = f"http://127.0.0.1:{port}"
    names = ("web", "simulator")
    wait_until(
        lambda: http_status(f"{base}/health/live") == 200,
        timeout=60,
        what="the web process",
        logs=processes,
        names=names,
    )
    lead = canonical("ES", at=utc_now())
    wait_until(
        lambda: trades_last(symbol=lead, count=5),
        timeout=60,
        what=f"simulated {lead} trades",
        logs=processes,
        names=names,
    )
    return base


def gex_snapshot(*, spot: float) -> GEXSnapshot:
    # Strikes every 5 points around spot; OI known for all of them, volume for every other one.
    strikes = tuple(
        StrikeRow(
            strike=round(spot / 5) * 5 + 5 * offset,
            gex_vol=float(offset * 3) if offset % 2 == 0 else None,
            gex_oi=float(10 - abs(offset)) * (1 if offset >= 0 else -1),
        )
        for offset in range(-10, 11)
    )
    return GEXSnapshot(
        ticker="ES_SPX",
        package="classic",
        category="gex_zero",
        timestamp=int(utc_now().timestamp()),
        spot=spot,
        zero_gamma=spot - 7.5,
        major_pos_oi=spot + 25,
        major_neg_oi=spot - 30,
        major_pos_vol=spot + 15,
        major_neg_vol=spot - 20,
        sum_gex_oi=123.4,
        sum_gex_vol=56.7,
        strikes=strikes,
        call_wall=spot + 40,
        put_wall=spot - 45,
    )


def chart_state(page: Page) -> dict[str, Any]:
    """What the chart's series hold and what the quote shows, read in one go."""
    return page.evaluate(
        """() => {
            const bars = window.dashboard.candles.data();
            const volumes = window.dashboard.volume.data();
            const last = bars[bars.length - 1] || null;
            const price = document.querySelector('#last-price').dataset.price;
            return {
                count: bars.length,
                last,
                bars: bars.map((bar, i) => [bar.time, bar.open, bar.high, bar.low, bar.close, volumes[i] ? volumes[i].value : null]),
                price: price === '' ? null : Number(price),
                tradeId: document.querySelector('#last-price').dataset.tradeId,
                symbol: window.dashboard.market.symbol,
            };
        }"""
    )


def server_second_bars(symbol: str) -> dict[int, list[float]]:
    """1 s bars [open, high, low, close, volume] of the latest trades in Redis, as `/api/bars`
    builds them; the oldest second may be cut off and the newest still forming, so both are
    left out."""
    bars: dict[int, list[float]] = {}
    for item in trades_last(symbol=symbol, count=MAX_PAGE):
        price, size = item.trade.price, item.trade.size
        bar = bars.setdefault(item.trade.ts_event // 1_000_000_000, [price, price, price, price, 0])
        bar[1], bar[2], bar[3], bar[4] = max(bar[1], price), min(bar[2], price), price, bar[4] + size
    for edge in (min(bars), max(bars)) if bars else ():
        bars.pop(edge, None)
    return bars


def same_bars_as_server(page: Page, *, symbol: str, since: int) -> list[int]:
    """Wait for four more candles, then compare the closed ones from `since` on with the 1 s bars
    of the trades the streamer wrote to Redis; returns the seconds compared."""
    page.wait_for_function(
        "time => { const bars = window.dashboard.candles.data(); return bars[bars.length - 1].time >= time; }",
        arg=since + 4,
    )
    browser_bars = {row[0]: row[1:] for row in chart_state(page)["bars"][:-1]}
    server = server_second_bars(symbol)
    compared = sorted(second for second in browser_bars if second >= since and second in server)
    assert {second: browser_bars[second] for second in compared} == {second: server[second] for second in compared}
    return compared


@pytest.mark.slow
@pytest.mark.browser
def test_a_trader_signs_in_and_watches_live_prices_streamer_status_and_gex(
    chromium: str, platform: str, django_user_model: Any
) -> None:
    trader = django_user_model.objects.create_user(username="trader", password=PASSWORD, is_staff=True)
    # Enough to open the schedule form in the admin (visited below for its Content-Security-Policy).
    trader.user_permissions.add(*Permission.objects.filter(codename__in=["add_periodictask", "view_periodictask"]))
    lead = canonical("ES", at=utc_now())
    page_errors: list[str] = []
    # Chromium reports each Content-Security-Policy refusal on the console. (The page functions
    # below are functions, not expression strings: those are eval()ed, which the policy refuses.)
    csp_violations: list[str] = []

    assert sync_playwright is not None
    with sync_playwright() as playwright:
        # Containers often have a small /dev/shm, where chromium would crash rendering.
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=["--disable-dev-shm-usage"])
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.set_default_timeout(30_000)
            page.on("pageerror", lambda error: page_errors.append(str(error)))
            page.on(
                "console",
                lambda message: (
                    csp_violations.append(f"{page.url}: {message.text}")
                    if "Content Security Policy" in message.text
                    else None
                ),
            )

            response = page.goto(f"{platform}/")
            assert response is not None
            assert "script-src 'self'" in (response.header_value("content-security-policy") or "")
            assert "/admin/login/" in page.url, "an anonymous visitor is sent to the login form"
            page.fill("#id_username", "trader")
            page.fill("#id_password", PASSWORD)
            page.click("input[type=submit]")
            page.wait_for_url(f"{platform}/")

            # Initial bars from /api/bars, then live trades over /ws/trades.
            page.wait_for_function("() => Number(document.querySelector('#price-chart').dataset.bars) > 0")
            page.wait_for_function("() => document.querySelector('#trades-socket').dataset.state === 'live'")
            first = chart_state(page)
            assert first["symbol"] == lead, "the first symbol of /api/symbols (ES, the lead contract) is shown"
            assert first["price"] is not None
            assert first["last"]["close"] == first["price"], "the last candle closes at the last price shown"
            # The socket spoke the subprotocol the server answers, with nothing in its URL to log.
            socket = page.evaluate(
                "() => { const s = window.dashboard.tradesSocket.socket; return {url: s.url, protocol: s.protocol}; }"
            )
            assert socket["protocol"] == "pipeline.v1"
            assert "?" not in socket["url"]

            # The moment the price has moved and a newer candle has opened, as the page shows it.
            later = page.wait_for_function(
                "([price, time]) => { const bars = window.dashboard.candles.data();"
                " const quote = document.querySelector('#last-price').dataset;"
                " const last = bars[bars.length - 1];"
                " return Number(quote.price) !== price && last.time > time"
                "   && {price: Number(quote.price), tradeId: quote.tradeId, last}; }",
                arg=[first["price"], first["last"]["time"]],
                timeout=60_000,
            ).json_value()
            assert later["price"] != first["price"]
            assert later["last"]["time"] > first["last"]["time"], "new 1 s candles keep opening"
            assert later["last"]["close"] == later["price"]
            assert later["tradeId"] != first["tradeId"]
            assert page.inner_text("#quote-symbol") == f"ES {lead}"

            # Every closed candle built in the browser from live trades matches the server's own
            # 1 s bars: no trade was missed or counted twice across the load and the subscription.
            compared = same_bars_as_server(page, symbol=lead, since=first["last"]["time"])
            assert len(compared) >= 3

            # A dropped socket reconnects and resumes after the last trade it saw: the candles
            # spanning the outage still match the server's.
            page.evaluate("() => window.dashboard.tradesSocket.socket.close()")
            page.wait_for_function("() => document.querySelector('#trades-socket').dataset.state !== 'live'")
            page.wait_for_function("() => document.querySelector('#trades-socket').dataset.state === 'live'")
            across = same_bars_as_server(page, symbol=lead, since=compared[-1])
            assert len(across) >= 3

            # The streamer row: the simulator, connected, with a rate.
            page.wait_for_function(
                "() => { const row = document.querySelector('tr[data-streamer=\"simulator\"]');"
                " return row && row.dataset.state === 'connected' && Number(row.dataset.rate) > 0; }"
            )
            row_text = page.inner_text('tr[data-streamer="simulator"]')
            assert "connected" in row_text
            assert page.get_attribute('tr[data-streamer="simulator"]', "data-health") == "ok"

            # No GEX source runs here, so the panel says so, then fills in when a snapshot lands.
            page.wait_for_function("() => document.querySelector('#gex-panel').dataset.state === 'empty'")
            assert "No GEX data yet" in page.inner_text("#gex-panel")
            snapshot = gex_snapshot(spot=later["price"])
            assert snapshot_record(snapshot=snapshot) is not None
            page.wait_for_function(
                "() => document.querySelector('#gex-panel').dataset.state === 'ready'", timeout=45_000
            )
            assert page.get_attribute("#gex-profile", "data-bars") == str(len(snapshot.strikes)), (
                "one bar per strike by OI"
            )
            marks = page.eval_on_selector_all(
                "#gex-profile .mark", "marks => marks.map(m => [m.dataset.level, Number(m.dataset.price)])"
            )
            assert marks == [
                ["spot", snapshot.spot],
                ["zero", snapshot.zero_gamma],
                ["pos", snapshot.major_pos_oi],
                ["neg", snapshot.major_neg_oi],
                ["call", snapshot.call_wall],
                ["put", snapshot.put_wall],
            ]
            assert "call wall OI" in page.inner_text("#gex-levels")
            assert "gexbot (undocumented)" in page.inner_text("#gex-foot"), "the snapshot's units are shown"
            page.click("#gex-basis button[data-basis=vol]")
            with_volume = sum(1 for row in snapshot.strikes if row.gex_vol is not None)
            assert page.get_attribute("#gex-profile", "data-bars") == str(with_volume)
            assert ["pos", snapshot.major_pos_vol] in page.eval_on_selector_all(
                "#gex-profile .mark", "marks => marks.map(m => [m.dataset.level, Number(m.dataset.price)])"
            )

            # Every panel loaded: no error banner.
            assert page.is_hidden("#banner"), page.inner_text("#banner")
            screenshot = artifacts_dir() / "dashboard.png"
            page.screenshot(path=str(screenshot), full_page=True)

            # The admin and the API docs render under the same policy (Swagger UI from our static files).
            page.goto(f"{platform}/admin/")
            page.wait_for_selector("#site-name")
            page.goto(f"{platform}/admin/password_change/")
            page.wait_for_selector("#id_old_password")
            # django-celery-beat's schedule form (the README sends operators there) carried an
            # inline script, which the policy refuses; ours loads it from a file.
            page.goto(f"{platform}/admin/django_celery_beat/periodictask/add/")
            page.wait_for_selector("#id_crontab")
            page.wait_for_function("() => document.getElementById('periodic-task-overrides') !== null")
            page.goto(f"{platform}/api/docs")
            page.wait_for_selector(".swagger-ui .opblock", timeout=30_000)
            page.click(".swagger-ui .opblock-summary")
            page.wait_for_timeout(500)
        finally:
            browser.close()

    assert screenshot.stat().st_size > 10_000
    assert not page_errors, page_errors
    assert not csp_violations, "\n".join(csp_violations)


@pytest.mark.django_db
def test_the_dashboard_is_for_staff_only(client: Client, django_user_model: Any) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/"

    client.force_login(django_user_model.objects.create_user(username="viewer", password=PASSWORD))
    assert client.get("/").status_code == 302, "a signed-in user who is not staff is sent to the login form"

    client.force_login(django_user_model.objects.create_user(username="desk", password=PASSWORD, is_staff=True))
    page = client.get("/")
    assert page.status_code == 200
    html = page.content.decode()
    # Served locally (no CDN): the vendored chart library and the page's own script.
    assert "/static/vendor/lightweight-charts/lightweight-charts.standalone.production.js" in html
    assert "/static/dashboard/dashboard.js" in html
    assert 'data-check="redis"' in html
    assert 'data-check="database"' in html
    assert "https://" not in html.replace("https://www.tradingview.com/", ""), "no outside resources"
