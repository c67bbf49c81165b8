"""The GEX poll chain: one run per due poll instead of a beat task every second, one chain per
group, and a keeper that restarts a lost chain — with real Celery workers against a fake GEXBot."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import time_machine

from apps.core import keys
from apps.core.redis import get_redis
from apps.core.runtime_config import clear_cache
from apps.core.services import runtime_setting_update
from apps.gex.config import GEXBotConfig
from apps.gex.gexbot import GEXBotAPISource
from apps.gex.poll_chain import (
    IDLE_SECONDS,
    poll_chain_extend,
    poll_chain_owns,
    poll_chain_start,
    poll_next_delay,
)
from apps.gex.polling import PollGroup
from tests.conftest import ProcessGroup, celery_command
from tests.fakes.gexbot import FAKE_API_KEY, FakeGEXBot

# Tuesday 24 November 2026, 10:00 New York (regular hours), and Saturday the 28th (closed).
TUESDAY_REGULAR = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
SATURDAY = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)


@pytest.fixture
def fake() -> Iterator[FakeGEXBot]:
    with FakeGEXBot() as server:
        yield server


@pytest.fixture
def gexbot(fake: FakeGEXBot) -> GEXBotAPISource:
    config = GEXBotConfig(api_key=FAKE_API_KEY, base_url=fake.base_url, retries=0)
    return GEXBotAPISource(config, shared_breaker=False)


@pytest.fixture
def two_polls(db: None) -> None:
    runtime_setting_update(key="gex.tickers", value=["SPX"])
    runtime_setting_update(key="gex.categories", value=["gex_zero", "gex_full"])
    runtime_setting_update(key="gex.intervals", value={"regular": 5.0, "extended": 60.0, "closed": 0.0})
    clear_cache()


@pytest.mark.calendar
@pytest.mark.usefixtures("two_polls")
def test_the_next_run_is_due_when_the_first_poll_falls_due_on_a_tuesday_morning(gexbot: GEXBotAPISource) -> None:
    client = get_redis()
    with time_machine.travel(TUESDAY_REGULAR, tick=False):
        now = time.time()
        # Never polled: due now, but never sooner than GEXBot's one request a second.
        assert poll_next_delay(group=PollGroup.DEFAULT, source=gexbot, moment=TUESDAY_REGULAR, client=client) == 1.0
        client.hset(keys.GEX_POLL_LAST, mapping={"SPX:classic:gex_zero": now - 2, "SPX:classic:gex_full": now - 1})
        # The 5 s interval: gex_zero falls due in 3 s, gex_full in 4 s.
        delay = poll_next_delay(group=PollGroup.DEFAULT, source=gexbot, moment=TUESDAY_REGULAR, client=client)
        assert delay == pytest.approx(3.0)


@pytest.mark.calendar
@pytest.mark.usefixtures("two_polls")
def test_on_a_saturday_the_chain_only_looks_in_once_a_minute(gexbot: GEXBotAPISource) -> None:
    with time_machine.travel(SATURDAY, tick=False):
        delay = poll_next_delay(group=PollGroup.DEFAULT, source=gexbot, moment=SATURDAY, client=get_redis())
    assert delay == IDLE_SECONDS


@pytest.mark.usefixtures("two_polls")
def test_a_group_without_tickers_waits_the_idle_time(gexbot: GEXBotAPISource) -> None:
    runtime_setting_update(key="gex.nq_tickers", value=["NDX"])
    clear_cache()
    # No configured ticker is an NQ ticker: the NQ group has nothing to poll.
    delay = poll_next_delay(group=PollGroup.NQ, source=gexbot, moment=TUESDAY_REGULAR, client=get_redis())
    assert delay == IDLE_SECONDS


@pytest.mark.django_db
def test_one_chain_per_group_and_a_superseded_chain_cannot_extend_itself() -> None:
    client = get_redis()
    first = poll_chain_start(group=PollGroup.DEFAULT, client=client)
    assert first is not None
    assert poll_chain_start(group=PollGroup.DEFAULT, client=client) is None, "a chain is alive"
    assert poll_chain_start(group=PollGroup.NQ, client=client) is not None, "groups are independent"
    assert poll_chain_extend(group=PollGroup.DEFAULT, token=first, delay=5, client=client)
    assert 30_000 < client.pttl(keys.gex_poll_chain("default")) <= 35_000

    client.delete(keys.gex_poll_chain("default"))  # the chain expired (its worker died)
    second = poll_chain_start(group=PollGroup.DEFAULT, client=client)
    assert second is not None
    assert second != first
    assert not poll_chain_extend(group=PollGroup.DEFAULT, token=first, delay=5, client=client)
    assert not poll_chain_owns(group=PollGroup.DEFAULT, token=first, client=client)
    assert poll_chain_owns(group=PollGroup.DEFAULT, token=second, client=client)


@pytest.mark.slow
@pytest.mark.usefixtures("two_polls")
def test_a_worker_polls_each_due_ticker_from_one_keeper_call_and_runs_no_idle_tasks(
    fake: FakeGEXBot, processes: ProcessGroup, process_env: dict[str, str]
) -> None:
    """The simulator-free regular-hours case on the real clock is not needed: with 1 s intervals in
    every session, what is due does not depend on the day. One keeper call starts the chain; each
    run then polls both categories, and there is about one run per second, not one per poll check."""
    from pipeline_project.celery import app

    runtime_setting_update(key="gex.intervals", value={"regular": 1.0, "extended": 1.0, "closed": 1.0})
    env = {**process_env, "GEXBOT_ENABLED": "true", "GEXBOT_API_KEY": FAKE_API_KEY, "GEXBOT_BASE_URL": fake.base_url}
    fake.auto_advance = True
    name = f"gex-chain-{time.time_ns()}"
    processes.start(name, celery_command("worker", "-Q", "gex", "-c", "2", "--hostname", f"{name}@%h"), env)
    deadline = time.monotonic() + 60
    while not app.control.ping(timeout=0.5):
        assert time.monotonic() < deadline, "the worker did not start"

    app.send_task("apps.gex.tasks.gex_poll_keep", kwargs={"group": "default"}, queue="gex")
    app.send_task("apps.gex.tasks.gex_poll_keep", kwargs={"group": "default"}, queue="gex")  # a second keeper
    deadline = time.monotonic() + 60
    while len(fake.requests_to("/v2/SPX/classic/gex_full")) < 5:
        assert time.monotonic() < deadline, f"the chain polled too little: {processes.log(name)[-2000:]}"
        time.sleep(0.2)

    log = processes.log(name)
    runs = log.count("apps.gex.tasks.gex_poll[")
    zero = len(fake.requests_to("/v2/SPX/classic/gex_zero"))
    full = len(fake.requests_to("/v2/SPX/classic/gex_full"))
    # One chain (the second keeper found it alive): each run polled both categories, so there are
    # no more runs than polls of one category (plus the run in flight), and never two chains.
    assert abs(zero - full) <= 1
    keepers = [line for line in log.splitlines() if "gex_poll_keep[" in line and " succeeded " in line]
    assert len(keepers) == 2
    assert sum("'started': True}" in line.split(" data=")[0] for line in keepers) == 1, keepers
    # Each run logs "received" and "succeeded".
    assert runs <= 2 * (full + 2), f"{runs} poll task lines for {full} polls: runs that did nothing"
