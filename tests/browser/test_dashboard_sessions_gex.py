"""The dashboard as a futures trader reads it, in Chromium against the real web process and a
simulator: exchange time (New York, Chicago or the browser's zone), session breaks where the
exchange calendar puts them, the contract and its next roll; the GEX levels of the chart's GEX
ticker (ES -> ES_SPX) as price lines whose labels never overlap, in the chart and in the GEX
panel; the GEX panel following the chart's symbol; the scrubber showing the levels of a past
time of the day; and only the GEX tickers and categories this configuration fills.

The history it draws is written relative to the moment the test runs (five days of hourly bars),
and what it expects is computed from the same exchange calendar, so it holds on any day: a
weekend, a holiday or a roll week only change which breaks are expected. Screenshots are kept as
artifacts beside the dashboard's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from apps.core.clock import utc_now
from apps.core.sessions import SessionKind, trading_sessions
from apps.gex.services.snapshots import snapshot_record
from apps.gex.snapshots import GEXSnapshot, StrikeRow
from apps.marketdata.selectors import trades_last
from apps.marketdata.symbols import canonical, rolls_between
from tests.browser.test_dashboard import PASSWORD, artifacts_dir, chromium, platform  # noqa: F401 - fixtures
from tests.factories import trade, write

try:
    from playwright.sync_api import Page, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None  # type: ignore[assignment]

HISTORY_DAYS = 5  # a long holiday weekend still leaves RTH days in it


def levels_snapshot(*, at: datetime, spot: float, offset: float = 0.0) -> GEXSnapshot:
    """Levels a tick or two apart (spot, both walls and zero gamma), as a quiet 0DTE gives them:
    their labels would cover each other if drawn where the lines are."""
    strikes = tuple(
        StrikeRow(strike=round(spot / 5) * 5 + 5 * step, gex_vol=float(step), gex_oi=float(10 - abs(step)))
        for step in range(-8, 9)
    )
    return GEXSnapshot(
        ticker="ES_SPX",
        package="local",
        category="gex_zero",
        timestamp=int(at.timestamp()),
        spot=spot,
        zero_gamma=spot + 0.5 + offset,
        major_pos_oi=spot + 10 + offset,
        major_neg_oi=spot - 10 + offset,
        call_wall=spot + 0.25 + offset,
        put_wall=spot - 0.25 + offset,
        sum_gex_oi=1.0,
        strikes=strikes,
        source="simulated",
        units="$ per 1% move",
    )


def overlapping(rects: list[dict[str, float]]) -> list[tuple[int, int]]:
    return [
        (i, j)
        for i, a in enumerate(rects)
        for j, b in enumerate(rects)
        if i < j
        and a["left"] < b["right"]
        and b["left"] < a["right"]
        and a["top"] < b["bottom"]
        and b["top"] < a["bottom"]
    ]


RECTS = """nodes => nodes.map(node => { const r = node.getBoundingClientRect();
    return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; })"""


def ohlc_clock(page: Page) -> tuple[int, str]:
    """The last bar's time (s) and the clock the chart head shows for it."""
    time = int(page.get_attribute("#chart-ohlc", "data-time") or 0)
    return time, page.inner_text("#chart-ohlc").split("  ", 1)[0]


@pytest.mark.slow
@pytest.mark.browser
def test_exchange_time_sessions_gex_lines_and_the_scrubber(
    chromium: str,  # noqa: F811 - the fixture
    platform: str,  # noqa: F811 - the fixture
    django_user_model: Any,
) -> None:
    django_user_model.objects.create_user(username="futures", password=PASSWORD, is_staff=True)
    now = utc_now()
    lead = canonical("ES", at=now)
    spot = trades_last(symbol=lead, count=1)[0].trade.price
    # Five days of trades, one every 20 minutes, up to an hour ago: hourly bars across sessions.
    first = (now - timedelta(days=HISTORY_DAYS)).replace(minute=0, second=0, microsecond=0)
    history = []
    moment = first
    while moment < now - timedelta(hours=1):
        history.append(trade(0, spot + ((moment.hour * 3 + moment.minute) % 17 - 8) * 0.25, base=moment, symbol=lead))
        moment += timedelta(minutes=20)
    write([history])
    # GEX snapshots of ES_SPX: 50 and 30 minutes ago, then now (the one shown live).
    past = [levels_snapshot(at=now - timedelta(minutes=50), spot=spot, offset=-20.0)]
    past.append(levels_snapshot(at=now - timedelta(minutes=30), spot=spot, offset=-10.0))
    latest = levels_snapshot(at=now, spot=spot)
    for snapshot in [*past, latest]:
        assert snapshot_record(snapshot=snapshot) is not None

    page_errors: list[str] = []
    assert sync_playwright is not None
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=["--disable-dev-shm-usage"])
        try:
            # The browser's own zone is Tokyo, so "browser" time differs from both exchange zones.
            context = browser.new_context(viewport={"width": 1440, "height": 900}, timezone_id="Asia/Tokyo")
            page = context.new_page()
            page.set_default_timeout(30_000)
            page.on("pageerror", lambda error: page_errors.append(str(error)))
            page.goto(f"{platform}/")
            page.fill("#id_username", "futures")
            page.fill("#id_password", PASSWORD)
            page.click("input[type=submit]")
            page.wait_for_url(f"{platform}/")

            # Only what this configuration fills: the simulated source serves ES_SPX and NQ_NDX
            # (not SPX), and gex_zero and gex_full are polled (not gex_one).
            assert page.eval_on_selector_all("#gex-ticker option", "o => o.map(x => x.value)") == ["ES_SPX", "NQ_NDX"]
            categories = page.eval_on_selector_all("#gex-category option", "o => o.map(x => x.value)")
            assert categories == ["gex_zero", "gex_full"]

            # Hourly bars: five days of them, with a break before each Globex open.
            page.click("#interval-picker button[data-interval='1h']")
            page.wait_for_function("() => Number(document.querySelector('#price-chart').dataset.bars) > 40")
            # All of them in view (breaks are drawn where bars are shown).
            page.evaluate("() => window.dashboard.chart.timeScale().fitContent()")
            page.wait_for_function("() => (document.querySelector('#price-chart').dataset.sessionBreaks || '') !== ''")
            bar_times = page.evaluate("() => window.dashboard.market.bars.map(bar => bar.time)")
            opens = [
                int(day.open.timestamp())
                for day in trading_sessions(
                    kind=SessionKind.ETH,
                    start=datetime.fromtimestamp(bar_times[0], tz=UTC),
                    end=datetime.fromtimestamp(bar_times[-1], tz=UTC),
                )
                if bar_times[0] < day.open.timestamp() <= bar_times[-1]
            ]
            assert opens, "five days hold at least one Globex open"
            page.wait_for_function(
                "want => document.querySelector('#price-chart').dataset.sessionBreaks === want",
                arg=",".join(map(str, opens)),
            )
            # Each break is drawn between the last bar before the open and the first bar after it.
            placed = page.evaluate(
                """() => [...document.querySelectorAll('#price-chart .session-break')].map(line => {
                    const time = Number(line.dataset.time); const bars = window.dashboard.market.bars;
                    const index = bars.findIndex(bar => bar.time >= time);
                    const scale = window.dashboard.chart.timeScale();
                    return [scale.logicalToCoordinate(index - 1), parseFloat(line.style.left), scale.logicalToCoordinate(index)];
                })"""
            )
            assert len(placed) == len(opens)
            assert all(before < x < after for before, x, after in placed), placed
            for open_s in opens:
                assert datetime.fromtimestamp(open_s, tz=ZoneInfo("America/New_York")).hour == 18

            # RTH: only 09:30-16:00 New York, hourly bars from 09:30, a break before each open.
            page.click("#session-picker button[data-session='rth']")
            page.wait_for_function(
                "() => document.querySelector('#chart-caption').textContent.includes('1h RTH bars · ')"
            )
            page.wait_for_function("() => Number(document.querySelector('#price-chart').dataset.bars) > 0")
            page.evaluate("() => window.dashboard.chart.timeScale().fitContent()")
            rth_times = page.evaluate("() => window.dashboard.market.bars.map(bar => bar.time)")
            rth_days = trading_sessions(
                kind=SessionKind.RTH,
                start=datetime.fromtimestamp(rth_times[0], tz=UTC),
                end=datetime.fromtimestamp(rth_times[-1], tz=UTC),
            )
            for time in rth_times:
                day = next(day for day in rth_days if day.open.timestamp() <= time < day.close.timestamp())
                assert (time - day.open.timestamp()) % 3600 == 0, "hours from the 09:30 open"
            rth_opens = [
                int(day.open.timestamp()) for day in rth_days if rth_times[0] < day.open.timestamp() <= rth_times[-1]
            ]
            page.wait_for_function(
                "want => document.querySelector('#price-chart').dataset.sessionBreaks === want",
                arg=",".join(map(str, rth_opens)),
            )
            page.click("#session-picker button[data-session='eth']")
            page.wait_for_function(
                "() => document.querySelector('#chart-caption').textContent.includes('1h ETH bars · ')"
            )
            page.wait_for_function("() => Number(document.querySelector('#price-chart').dataset.bars) > 40")

            # The contract and its next roll, from the roll rule.
            page.wait_for_function("() => document.querySelector('#chart-contract').dataset.contract !== undefined")
            assert page.get_attribute("#chart-contract", "data-contract") == lead
            next_roll = next(roll for roll in rolls_between("ES", start=now, end=now) if roll.at > now)
            assert page.get_attribute("#chart-contract", "data-next-roll") == next_roll.after
            assert f"ES = {lead}" in page.inner_text("#chart-contract")
            # A roll inside the bars shown is a line naming both contracts (here one placed in
            # the middle of the history: the real one is tested through /api/sessions).
            middle = bar_times[len(bar_times) // 2]
            page.evaluate("() => window.dashboard.chart.timeScale().fitContent()")
            page.evaluate(
                """at => window.dashboard.overlays.setSessions(window.dashboard.market.sessions,
                    [{at: new Date(at * 1000).toISOString(), before: 'ESZ26', after: 'ESH27'}])""",
                middle,
            )
            page.wait_for_selector("#price-chart .roll-break[data-after='ESH27']", state="attached")
            assert page.text_content("#price-chart .roll-break") == "roll ESZ26 → ESH27"
            page.evaluate(
                "() => window.dashboard.overlays.setSessions(window.dashboard.market.sessions, window.dashboard.market.rolls)"
            )

            # Exchange time by default (New York), then Chicago, then the browser's (Tokyo).
            time, shown = ohlc_clock(page)
            for zone, value in (
                ("America/New_York", None),
                ("America/Chicago", "America/Chicago"),
                ("Asia/Tokyo", "browser"),
            ):
                if value:
                    page.select_option("#tz-picker", value)
                    page.wait_for_function("zone => document.documentElement.dataset.timeZone === zone", arg=zone)
                time, shown = ohlc_clock(page)
                expected = datetime.fromtimestamp(time, tz=ZoneInfo(zone)).strftime("%H:%M:%S")
                assert shown.startswith(expected), (zone, shown)
                crosshair = page.evaluate(
                    "time => window.dashboard.chart.options().localization.timeFormatter(time)", time
                )
                assert expected in crosshair, (zone, crosshair)
            assert "Tokyo" in page.inner_text("#tz-note")
            page.select_option("#tz-picker", "America/New_York")

            # The GEX levels of ES_SPX on the ES chart, where the snapshot puts them (ES_SPX is in
            # futures points: no basis), labels apart although the levels are a tick apart.
            page.wait_for_function("() => document.querySelector('#gex-panel').dataset.state === 'ready'")
            page.wait_for_function("() => Number(document.querySelector('#price-chart').dataset.levels) === 5")
            page.wait_for_function("() => document.querySelectorAll('#price-chart .level-label').length === 5")
            labels = page.eval_on_selector_all(
                "#price-chart .level-label",
                "l => Object.fromEntries(l.map(x => [x.dataset.level, Number(x.dataset.price)]))",
            )
            assert labels == {
                "zero": latest.zero_gamma,
                "call": latest.call_wall,
                "put": latest.put_wall,
                "pos": latest.major_pos_oi,
                "neg": latest.major_neg_oi,
            }
            assert overlapping(page.eval_on_selector_all("#price-chart .level-label", RECTS)) == []
            # The GEX panel's marks (spot and both walls within half a point) do not collide either.
            marks = page.eval_on_selector_all("#gex-profile .mark text", RECTS)
            assert len(marks) == 6
            assert overlapping(marks) == []
            # An index's levels are moved by the basis (the futures price minus the index's spot).
            moved = page.evaluate(
                "() => window.dashboard.levelsOnChart({zero_gamma: 5990, call_wall: 6050, put_wall: 5900, spot: 6000},"
                " {index: true, basis: 42.5}).map(l => [l.kind, l.price])"
            )
            assert moved == [["zero", 6032.5], ["call", 6092.5], ["put", 5942.5]]
            page.screenshot(path=str(artifacts_dir() / "dashboard-sessions-gex-levels.png"), full_page=True)

            # The scrubber: 40 minutes ago shows the snapshot taken 50 minutes ago, on the panel
            # and on the chart; "live" goes back to the latest.
            page.evaluate(
                """at => { const scrub = document.querySelector('#gex-scrub');
                    scrub.value = String(at); scrub.dispatchEvent(new Event('input')); }""",
                int((now - timedelta(minutes=40)).timestamp()),
            )
            page.wait_for_function(
                "ts => document.querySelector('#gex-panel').dataset.timestamp === String(ts)", arg=past[0].timestamp
            )
            assert page.get_attribute("#gex-scrubber", "data-state") == "history"
            page.wait_for_function(
                "price => Number(document.querySelector('#price-chart .level-call').dataset.price) === price",
                arg=past[0].call_wall,
            )
            page.screenshot(path=str(artifacts_dir() / "dashboard-gex-scrubbed.png"), full_page=True)
            page.click("#gex-live")
            page.wait_for_function(
                "ts => document.querySelector('#gex-panel').dataset.timestamp === String(ts)", arg=latest.timestamp
            )
            assert page.get_attribute("#gex-scrubber", "data-state") == "live"

            # Picking NQ moves the GEX panel to NQ_NDX (nothing recorded: it says so, and the ES
            # levels leave the chart).
            nq = canonical("NQ", at=now)
            page.select_option("#symbol-picker", nq)
            page.wait_for_function("() => document.querySelector('#gex-ticker').value === 'NQ_NDX'")
            page.wait_for_function("() => document.querySelector('#gex-panel').dataset.state === 'empty'")
            page.wait_for_function("() => document.querySelector('#price-chart').dataset.levels === '0'")
            assert page.is_hidden("#banner"), page.inner_text("#banner")
        finally:
            browser.close()
    assert not page_errors, page_errors
