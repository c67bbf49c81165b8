"""The depth panel in a real browser against the real web process (uvicorn, /ws/depth, /ws/trades,
the REST API): a 10-level book changing 1,000 times a second is written to the test Redis by the
real hot-store writer (bench/depth_load.py, its own process), and the ladder must end on that
book's exact sizes at the right prices, the heatmap must have painted cells, and the session's
volume by price and VWAP must be the server's to the last bit. Then the same stretch is shown as
a past range from the lake, with the hot store's copy gone. Frame times are recorded on the page
(bench/depth_frames.py reports them); this test does not judge them. Screenshots are artifacts.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from apps.core import keys
from apps.core.clock import utc_now
from apps.core.embedded_redis import free_port
from apps.core.redis import get_redis
from apps.marketdata.depth_reads import book_live
from apps.marketdata.symbols import canonical
from apps.storage.flush import streams_flush
from apps.storage.volume_profile import volume_profile
from tests.browser import test_dashboard
from tests.browser.test_dashboard import artifacts_dir, http_status, sync_playwright, wait_until
from tests.conftest import ProcessGroup

chromium = test_dashboard.chromium
PASSWORD = "depth-pass-1"
BACKGROUND = [11, 15, 20]
LADDER_ROWS = """rows => rows.filter(r => r.dataset.bid || r.dataset.ask).map(r => [
    Number(r.dataset.price), r.dataset.bid ? Number(r.dataset.bid) : null, r.dataset.ask ? Number(r.dataset.ask) : null])"""


@pytest.fixture
def web(processes: ProcessGroup, process_env: dict[str, str]) -> str:
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
    base = f"http://127.0.0.1:{port}"
    wait_until(
        lambda: http_status(f"{base}/health/live") == 200,
        timeout=60,
        what="the web process",
        logs=processes,
        names=("web",),
    )
    return base


def ladder_levels(page: Any) -> tuple[list[list[float]], list[list[float]]]:
    """The ladder's bids (best first) and asks (best first), as [price, size]."""
    rows = page.eval_on_selector_all("#depth-ladder tbody tr", LADDER_ROWS)
    bids = sorted(([price, bid] for price, bid, _ in rows if bid is not None), reverse=True)
    asks = sorted([price, ask] for price, _, ask in rows if ask is not None)
    return bids, asks


def painted_rows(page: Any, *, x_from_right: int) -> int:
    """Rows of the heatmap canvas, in one pixel column, that are not the background."""
    return page.evaluate(
        """([fromRight, background]) => {
            const canvas = document.querySelector('#depth-heatmap');
            const data = canvas.getContext('2d').getImageData(canvas.width - fromRight, 0, 1, canvas.height).data;
            let painted = 0;
            for (let i = 0; i < data.length; i += 4) {
                if (Math.abs(data[i] - background[0]) + Math.abs(data[i + 1] - background[1]) + Math.abs(data[i + 2] - background[2]) > 30) painted += 1;
            }
            return painted;
        }""",
        [x_from_right, BACKGROUND],
    )


def sign_in(page: Any, base: str) -> None:
    page.goto(f"{base}/")
    page.fill("#id_username", "trader")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/")


@pytest.mark.slow
@pytest.mark.browser
def test_a_book_changing_1000_times_a_second_ends_exact_on_the_ladder_and_paints_the_heatmap(  # noqa: PLR0917 - fixtures
    chromium: str,
    web: str,
    processes: ProcessGroup,
    process_env: dict[str, str],
    tmp_path: Path,
    django_user_model: Any,
) -> None:
    django_user_model.objects.create_user(username="trader", password=PASSWORD, is_staff=True)
    lead = canonical("ES", at=utc_now())
    final_path = tmp_path / "final.json"
    page_errors: list[str] = []
    csp_violations: list[str] = []
    assert sync_playwright is not None
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=["--disable-dev-shm-usage"])
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1300})
            page.set_default_timeout(30_000)
            page.on("pageerror", lambda error: page_errors.append(str(error)))
            page.on(
                "console",
                lambda message: (
                    csp_violations.append(message.text) if "Content Security Policy" in message.text else None
                ),
            )
            sign_in(page, web)
            page.wait_for_function("symbol => window.dashboard.depth.state.symbol === symbol", arg=lead)
            page.wait_for_function("() => document.querySelector('#depth-panel').dataset.state === 'empty'")
            assert "waiting for a book snapshot" in page.inner_text("#depth-caption")

            started_ms = int(time.time() * 1000)
            load = processes.start(
                "depth_load",
                [
                    sys.executable,
                    "-m",
                    "bench.depth_load",
                    *("--symbol", lead, "--rate", "1000", "--seconds", "8", "--final", str(final_path)),
                ],
                process_env,
            )
            # The book is followed live, one update at a time (no snapshot after the first).
            page.wait_for_function(
                "() => window.dashboard.depth.book.applied > 2000"
                " && document.querySelector('#depth-panel').dataset.state === 'live'",
                timeout=60_000,
            )
            # The server tells a slow socket it skipped operations ("conflated"): the page drops
            # that socket and loads the book again rather than show one with holes.
            page.evaluate(
                "symbol => window.dashboard.depth.feed.receive(JSON.stringify("
                "{type: 'conflated', topic: 'depth', symbol, skipped: 3}))",
                lead,
            )
            page.wait_for_function(
                "() => window.dashboard.depth.feed.resyncs === 1 && window.dashboard.depth.feed.socket !== null"
                " && document.querySelector('#depth-socket').dataset.state === 'live'"
            )
            assert load.wait(timeout=90) == 0, processes.log("depth_load")
            final = json.loads(final_path.read_text())
            assert final["updates"] >= 7000

            # The ladder ends on the writer's final book: every level, exact, at its price.
            page.wait_for_function(
                f"""([bids, asks]) => {{
                    const rows = ({LADDER_ROWS})([...document.querySelectorAll('#depth-ladder tbody tr')]);
                    const got = rows.filter(r => r[1] !== null).length + rows.filter(r => r[2] !== null).length;
                    return got === bids.length + asks.length
                        && bids.every(([p, s]) => rows.some(r => r[0] === p && r[1] === s))
                        && asks.every(([p, s]) => rows.some(r => r[0] === p && r[2] === s));
                }}""",
                arg=[final["bids"], final["asks"]],
                timeout=30_000,
            )
            bids, asks = ladder_levels(page)
            assert (bids, asks) == (final["bids"], final["asks"])
            assert len(bids) == len(asks) == 10
            server = book_live(symbol=lead, feed="test")
            assert server is not None
            assert [list(level) for level in server.book.levels(10)["bids"]] == bids, "the server's book, too"
            best_bid, best_ask = bids[0][0], asks[0][0]
            assert (
                "best-bid" in (page.get_attribute(f'#depth-ladder tr[data-price="{best_bid}"]', "class") or "").split()
            )
            assert (
                "best-ask" in (page.get_attribute(f'#depth-ladder tr[data-price="{best_ask}"]', "class") or "").split()
            )

            # The heatmap painted the live column and the columns behind it.
            assert page.evaluate("() => window.dashboard.depth.heatmap.painted") > 0
            assert painted_rows(page, x_from_right=2) > 0, "the live column"
            assert painted_rows(page, x_from_right=60) > 0, "a column 20 columns back"
            frames = page.evaluate("() => window.dashboard.depth.frames.count")
            assert frames > 60, "frame times are recorded for bench/depth_frames.py"

            # Volume by price and VWAP: the server's figures for the session, exactly.
            # From the session start the page was given (no test of today's session boundary).
            opened = datetime.fromisoformat(page.evaluate("() => window.dashboard.depth.profile.start"))
            session = volume_profile(symbol=lead, start=opened, end=utc_now())
            assert session.trades >= 100
            page.wait_for_function(
                "volume => window.dashboard.depth.profile.volume === volume", arg=session.volume, timeout=10_000
            )
            shown = page.evaluate(
                "() => { const p = window.dashboard.depth.profile;"
                " return {vwap: p.vwap, levels: [...p.byPrice.entries()].sort((a, b) => a[0] - b[0])"
                ".map(([price, l]) => [price, l.volume, l.buy, l.sell])}; }"
            )
            assert shown["vwap"] == session.vwap
            assert shown["levels"] == [[level.price, level.volume, level.buy, level.sell] for level in session.levels]
            page.wait_for_function("() => document.querySelector('#depth-vwap').dataset.vwap !== ''")
            assert float(page.get_attribute("#depth-vwap", "data-vwap") or "nan") == session.vwap
            assert page.is_hidden("#banner"), page.inner_text("#banner")
            page.locator("#depth-panel").screenshot(path=str(artifacts_dir() / "depth.png"))

            # The same stretch as a past range, from the lake alone.
            streams_flush(client=get_redis(), lake=settings.LAKE_DIR)
            get_redis().delete(keys.depth(lead))
            page.evaluate(
                """ms => { const d = new Date(ms); const pad = n => String(n).padStart(2, '0');
                    document.querySelector('#depth-from').value = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`
                      + `T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`; }""",
                started_ms - 5000,
            )
            page.select_option("#depth-span", "2")
            page.click("#depth-show")
            page.wait_for_function("() => document.querySelector('#depth-panel').dataset.state === 'range'")
            page.wait_for_function("() => window.dashboard.depth.heatmap.historyCells > 0")
            assert ladder_levels(page) == (final["bids"], final["asks"]), "the range ends on the final book"
            assert painted_rows(page, x_from_right=30) > 0
            page.locator("#depth-panel").screenshot(path=str(artifacts_dir() / "depth-range.png"))
        finally:
            browser.close()

    assert not page_errors, page_errors
    assert not csp_violations, "\n".join(csp_violations)
