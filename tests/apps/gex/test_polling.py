"""GEX polling: session-aware intervals, what is stored, and the per-ticker rate limit across
two real Celery workers polling a fake GEXBot over HTTP."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from apps.core import keys
from apps.core.redis import get_redis
from apps.core.runtime_config import clear_cache
from apps.core.services import runtime_setting_update
from apps.gex.config import GEXBotConfig
from apps.gex.gexbot import GEXBotAPISource
from apps.gex.polling import Outcome, PollGroup, poll_interval, poll_once
from apps.gex.runtime_settings import SessionIntervals
from apps.gex.selectors import snapshot_latest
from tests.conftest import ProcessGroup, celery_command
from tests.fakes.gexbot import FAKE_API_KEY, FakeGEXBot

# Tuesday 24 November 2026 and Thanksgiving two days later (NYSE closed), in UTC.
REGULAR = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # 10:00 New York
PRE_MARKET = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)  # 07:00 New York
AFTER_HOURS = datetime(2026, 11, 24, 22, 30, tzinfo=UTC)  # 17:30 New York
NIGHT = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # 22:00 New York
THANKSGIVING = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
BLACK_FRIDAY_AFTERNOON = datetime(2026, 11, 27, 18, 30, tzinfo=UTC)  # 13:30, after the 13:00 early close
SATURDAY = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)


@pytest.mark.calendar
def test_the_interval_follows_the_exchange_calendar() -> None:
    intervals = SessionIntervals(regular=2.0, extended=30.0, closed=0.0)
    assert poll_interval(moment=REGULAR, intervals=intervals) == 2.0
    assert poll_interval(moment=PRE_MARKET, intervals=intervals) == 30.0
    assert poll_interval(moment=AFTER_HOURS, intervals=intervals) == 30.0
    assert poll_interval(moment=NIGHT, intervals=intervals) is None
    assert poll_interval(moment=THANKSGIVING, intervals=intervals) is None, "a holiday is closed all day"
    assert poll_interval(moment=BLACK_FRIDAY_AFTERNOON, intervals=intervals) == 30.0, "early close"
    assert poll_interval(moment=SATURDAY, intervals=intervals) is None
    assert poll_interval(moment=THANKSGIVING, intervals=SessionIntervals(closed=600.0)) == 600.0
    assert poll_interval(moment=SATURDAY, intervals=intervals, always_open=True) == 2.0


@pytest.fixture
def fake() -> Iterator[FakeGEXBot]:
    with FakeGEXBot() as server:
        yield server


def source(fake: FakeGEXBot) -> GEXBotAPISource:
    config = GEXBotConfig(
        api_key=FAKE_API_KEY, base_url=fake.base_url, retries=0, breaker_fail_max=2, breaker_reset_seconds=30
    )
    return GEXBotAPISource(config, shared_breaker=False)


@pytest.fixture
def spx_only(db: None) -> None:
    runtime_setting_update(key="gex.tickers", value=["SPX"])
    runtime_setting_update(key="gex.categories", value=["gex_zero"])
    clear_cache()


@pytest.mark.calendar
@pytest.mark.usefixtures("spx_only")
def test_each_session_polls_at_its_interval_with_a_frozen_clock(fake: FakeGEXBot) -> None:
    gexbot = source(fake)
    regular = poll_once(group=PollGroup.DEFAULT, source=gexbot, moment=REGULAR)
    assert regular.session_interval == 5.0
    assert regular.outcomes == {"SPX:classic:gex_zero": Outcome.STORED}
    get_redis().delete(keys.GEX_POLL_LAST)
    assert poll_once(group=PollGroup.DEFAULT, source=gexbot, moment=PRE_MARKET).session_interval == 60.0
    before = len(fake.requests_to("/v2/SPX"))
    holiday = poll_once(group=PollGroup.DEFAULT, source=gexbot, moment=THANKSGIVING)
    assert (holiday.session_interval, holiday.outcomes) == (None, {})
    assert len(fake.requests_to("/v2/SPX")) == before, "nothing is requested on a holiday"
    nq = poll_once(group=PollGroup.NQ, source=gexbot, moment=REGULAR)
    assert nq.outcomes == {}, "SPX belongs to the default poller, not the NQ one"


@pytest.mark.usefixtures("spx_only")
def test_a_repeated_snapshot_is_stored_once_and_a_malformed_one_never(fake: FakeGEXBot) -> None:
    gexbot = source(fake)
    first = poll_once(group=PollGroup.DEFAULT, source=gexbot, moment=REGULAR)
    assert first.outcomes["SPX:classic:gex_zero"] == Outcome.STORED
    stored = snapshot_latest(ticker="SPX", category="gex_zero")
    assert stored is not None
    assert stored.spot == 7138.55, "the vendor's documented example, as served"

    get_redis().delete(keys.GEX_POLL_LAST)
    time.sleep(1.05)  # the rate limit: one request per second per ticker and metric
    again = poll_once(group=PollGroup.DEFAULT, source=gexbot, moment=REGULAR)
    assert again.outcomes["SPX:classic:gex_zero"] == Outcome.UNCHANGED
    assert get_redis().xlen(keys.gex_snapshots("SPX")) == 1

    fake.advance(5)
    fake.malformed()
    get_redis().delete(keys.GEX_POLL_LAST)
    time.sleep(1.05)
    bad = poll_once(group=PollGroup.DEFAULT, source=gexbot, moment=REGULAR)
    assert bad.outcomes["SPX:classic:gex_zero"] == Outcome.MALFORMED
    assert get_redis().xlen(keys.gex_snapshots("SPX")) == 1
    assert snapshot_latest(ticker="SPX", category="gex_zero") == stored


@pytest.mark.usefixtures("spx_only")
def test_an_open_breaker_skips_polls_and_counts_them(fake: FakeGEXBot) -> None:
    gexbot = source(fake)

    def poll() -> str:
        get_redis().delete(keys.GEX_POLL_LAST, keys.gex_rate_limit("SPX", "classic-gex_zero"))
        return poll_once(group=PollGroup.DEFAULT, source=gexbot, moment=REGULAR).outcomes["SPX:classic:gex_zero"]

    assert poll() == Outcome.STORED
    fake.go_down()
    assert [poll(), poll(), poll(), poll()] == [
        Outcome.FAILED,
        Outcome.FAILED,
        Outcome.BREAKER_OPEN,
        Outcome.BREAKER_OPEN,
    ]
    assert len(fake.requests_to("/v2/SPX")) == 3, "no request while the breaker is open"
    assert get_redis().hget(keys.GEX_POLL_SKIPPED, "SPX:gex_zero") == b"2"


@pytest.mark.slow
def test_two_workers_never_exceed_one_request_per_second_per_ticker_and_metric(
    fake: FakeGEXBot, processes: ProcessGroup, process_env: dict[str, str]
) -> None:
    from pipeline_project.celery import app

    runtime_setting_update(key="gex.tickers", value=["SPX", "ES_SPX"])
    runtime_setting_update(key="gex.categories", value=["gex_zero", "gex_full"])
    fast = {"regular": 0.1, "extended": 0.1, "closed": 0.1}
    runtime_setting_update(key="gex.intervals", value=fast)
    env = {**process_env, "GEXBOT_ENABLED": "true", "GEXBOT_API_KEY": FAKE_API_KEY, "GEXBOT_BASE_URL": fake.base_url}
    fake.auto_advance = True
    names = [f"gex-a-{time.time_ns()}", f"gex-b-{time.time_ns()}"]
    for name in names:
        processes.start(name, celery_command("worker", "-Q", "gex", "-c", "2", "--hostname", f"{name}@%h"), env)
    deadline = time.monotonic() + 60
    while len(app.control.ping(timeout=0.5)) < 2:
        assert time.monotonic() < deadline, "workers did not start"

    started = time.monotonic()
    while time.monotonic() - started < 6:
        app.send_task("apps.gex.tasks.gex_poll", kwargs={"group": "default"}, queue="gex")
        time.sleep(0.05)
    time.sleep(2)

    paths: dict[str, list[float]] = {}
    for request in fake.requests_to("/v2/"):
        if request.path.startswith(("/v2/SPX/", "/v2/ES_SPX/")):
            paths.setdefault(request.path, []).append(request.received_at)
    assert set(paths) == {f"/v2/{t}/classic/{c}" for t in ("SPX", "ES_SPX") for c in ("gex_zero", "gex_full")}
    for path, times in paths.items():
        gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
        assert len(times) >= 3, f"{path} polled only {len(times)} times in 6 s"
        assert min(gaps) >= 0.95, f"{path} was requested twice within {min(gaps):.3f} s"
    served = [processes.log(name).count("gex_poll") for name in names]
    assert all(count > 0 for count in served), f"both workers must have polled: {served}"
