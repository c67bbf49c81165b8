"""Replay mode in a real browser (issue 13 §1): beside the live dashboard in one tab, a second tab
opened on `/?replay=<id>` shows the replay of Friday 20 November 2026, on 20 November, with a
REPLAY badge; its API calls and its WebSocket carry the id; the live tab shows no trace of it.
Screenshots of both tabs are kept as artifacts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from apps.marketdata.events import Trade
from tests.browser.test_dashboard import (  # noqa: F401 - the fixtures this test stands on
    PASSWORD,
    artifacts_dir,
    chart_state,
    chromium,
    platform,
    sync_playwright,
)
from tests.replays import DAY, day_events, events_file, run_replay

# Not a calendar test: the replayed day is fixed (20 November) and the live tab runs on the real
# clock of the processes the platform fixture starts, like tests/browser/test_dashboard.py.
pytestmark = [pytest.mark.slow]


def test_a_replay_of_20_november_in_a_second_tab_beside_the_live_one(
    chromium: str,  # noqa: F811
    platform: str,  # noqa: F811
    django_user_model: Any,
    tmp_path: Path,
) -> None:
    events = day_events(200)
    run_replay(events_file(tmp_path / "day.jsonl", events), replay_id="nov20")
    last_trade = [event for event in events if isinstance(event, Trade)][-1]
    django_user_model.objects.create_user(username="trader", password=PASSWORD, is_staff=True)
    page_errors: list[str] = []

    assert sync_playwright is not None
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=["--disable-dev-shm-usage"])
        try:
            context = browser.new_context(viewport={"width": 1440, "height": 900})
            context.set_default_timeout(30_000)
            live = context.new_page()
            live.on("pageerror", lambda error: page_errors.append(str(error)))
            live.goto(f"{platform}/")
            live.fill("#id_username", "trader")
            live.fill("#id_password", PASSWORD)
            live.click("input[type=submit]")
            live.wait_for_url(f"{platform}/")
            live.wait_for_function("() => Number(document.querySelector('#price-chart').dataset.bars) > 0")

            replay = context.new_page()
            replay.on("pageerror", lambda error: page_errors.append(str(error)))
            replay.goto(f"{platform}/?replay=nov20")
            replay.wait_for_function("() => Number(document.querySelector('#price-chart').dataset.bars) > 0")
            replay.wait_for_function("() => document.querySelector('#trades-socket').dataset.state === 'live'")
            badge = replay.inner_text("#replay-badge")
            assert badge == "REPLAY nov20 · finished · 2026-11-20 14:30:00 UTC"
            shown = chart_state(replay)
            assert shown["symbol"] == "ESZ26"
            assert shown["last"]["time"] == int(DAY.timestamp()), "20 November's bar, on 20 November"
            assert shown["price"] == last_trade.price
            socket_url = replay.evaluate("() => window.dashboard.tradesSocket.socket.url")
            assert socket_url.endswith("/ws/trades?replay=nov20")
            assert replay.title() == "data-pipeline · replay nov20"

            # The live tab: no badge, today's bars, its socket without a replay.
            assert live.is_hidden("#replay-badge")
            live_shown = chart_state(live)
            assert live_shown["last"]["time"] > int(DAY.timestamp()) + 86_400
            assert "?" not in live.evaluate("() => window.dashboard.tradesSocket.socket.url")

            live.screenshot(path=str(artifacts_dir() / "dashboard-live-beside-replay.png"), full_page=True)
            replay.screenshot(path=str(artifacts_dir() / "dashboard-replay.png"), full_page=True)
        finally:
            browser.close()
    assert page_errors == []
