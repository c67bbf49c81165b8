"""The GEXBot client against the fake GEXBot server over real HTTP: the headers the vendor
requires, retries that respect Retry-After, a breaker shared through the real Redis, payload
errors that are not retried, and history downloads that never carry the API key."""

from __future__ import annotations

import http.client
import json
import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from apps.core import keys
from apps.core.redis import get_redis
from apps.gex.config import GEXBotConfig, project_version
from apps.gex.gexbot import GEXBotAPISource, retry_after_seconds
from apps.gex.parsing import parse_chain
from apps.gex.sources import GEXDataSource, GEXPayloadError, GEXSourceError, GEXSourceUnavailable
from pipeline_project.env import ConfigError, load_env
from tests.fakes.gexbot import FAKE_API_KEY, FakeGEXBot, payload

ROOT = Path(__file__).resolve().parents[3]
SPX_ZERO = {"ticker": "SPX", "package": "classic", "category": "gex_zero"}


@pytest.fixture
def fake() -> Iterator[FakeGEXBot]:
    with FakeGEXBot() as server:
        yield server


def make_config(fake: FakeGEXBot, **overrides: Any) -> GEXBotConfig:
    values: dict[str, Any] = {
        "api_key": FAKE_API_KEY,
        "base_url": fake.base_url,
        "timeout_seconds": 2.0,
        "retries": 2,
        "backoff_base_seconds": 0.05,
        "backoff_cap_seconds": 2.0,
        "breaker_fail_max": 2,
        "breaker_reset_seconds": 2.0,
    }
    return GEXBotConfig(**(values | overrides))


@pytest.fixture
def source(fake: FakeGEXBot) -> Iterator[GEXBotAPISource]:
    with GEXBotAPISource(make_config(fake)) as client:
        yield client


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_nothing_is_contacted_until_the_first_call(fake: FakeGEXBot) -> None:
    client = GEXBotAPISource(make_config(fake))
    assert isinstance(client, GEXDataSource)
    assert fake.requests == []
    assert get_redis().keys("gex:breaker:*") == []
    client.close()


def test_a_chain_request_carries_the_bearer_key_user_agent_and_accept(
    fake: FakeGEXBot, source: GEXBotAPISource
) -> None:
    snapshot = source.chain(ticker="SPX", package="classic", category="zero")

    (request,) = fake.requests
    assert request.path == "/v2/SPX/classic/gex_zero"
    assert request.header("Authorization") == f"Bearer {FAKE_API_KEY}"
    assert request.header("User-Agent") == f"data-pipeline/{project_version()} (+self-hosted)"
    assert request.header("Accept") == "application/json"
    # The official example, served verbatim, arrives with its exact values.
    assert snapshot == parse_chain(payload("classic_chain.json"), **SPX_ZERO)
    assert snapshot.spot == 7138.55

    fake.advance(1)
    assert source.chain(**SPX_ZERO).timestamp == 1777492801


def test_majors_maxchange_tickers_and_state_over_http(fake: FakeGEXBot, source: GEXBotAPISource) -> None:
    majors = source.majors(ticker="ES_SPX", package="classic", category="gex_full")
    change = source.maxchange(ticker="ES_SPX", package="classic", category="gex_full")
    state = source.chain(ticker="SPX", package="state", category="gex_zero")
    gamma = source.chain(ticker="SPX", package="state", category="gamma_zero")
    tickers = source.tickers()

    assert [request.path for request in fake.requests] == [
        "/v2/ES_SPX/classic/gex_full/majors",
        "/v2/ES_SPX/classic/gex_full/maxchange",
        "/v2/SPX/state/gex_zero",
        "/v2/SPX/state/gamma_zero",
        "/v2/tickers",
    ]
    assert (majors.ticker, majors.mpos_vol, majors.mneg_oi) == ("ES_SPX", 7135, 6900)
    assert change.windows["current"] == (7140, 170979.742)
    assert [row.gex_oi for row in state.strikes] == [0, 0, 0, 0]
    assert gamma.strikes[0].gex_vol == -1523.77
    assert {"SPX", "ES_SPX", "NQ_NDX"} <= set(tickers)


def test_bad_arguments_are_refused_before_any_request(fake: FakeGEXBot, source: GEXBotAPISource) -> None:
    with pytest.raises(ValueError, match=r"ticker 'spx/\.\./x' is not a GEXBot ticker name"):
        source.chain(ticker="spx/../x", package="classic", category="gex_zero")
    with pytest.raises(ValueError, match="package 'orderflow' is not one of classic, state"):
        source.chain(ticker="SPX", package="orderflow", category="orderflow")
    with pytest.raises(ValueError, match="category 'gamma_zero' is not served for classic"):
        source.chain(ticker="SPX", package="classic", category="gamma_zero")
    assert fake.requests == []


def test_a_wrong_key_gets_a_clear_error_and_is_not_retried(fake: FakeGEXBot) -> None:
    config = make_config(fake, api_key="gexbot_custom_not-the-key")
    with GEXBotAPISource(config) as client, pytest.raises(GEXSourceError) as caught:
        client.chain(**SPX_ZERO)
    message = str(caught.value)
    assert "GEXBot refused the API key (401)" in message
    assert "Unauthorized: invalid or missing API key" in message
    assert "GEXBOT_API_KEY" in message
    assert [request.status for request in fake.requests] == [401]


def test_the_fake_insists_on_a_user_agent_like_the_vendor(fake: FakeGEXBot) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=5)
    connection.request("GET", "/v2/SPX/classic/gex_zero", headers={"Authorization": f"Bearer {FAKE_API_KEY}"})
    response = connection.getresponse()
    assert response.status == 400
    assert "User-Agent" in json.loads(response.read())["error"]
    connection.close()


def test_a_429_with_retry_after_is_waited_out_then_succeeds(fake: FakeGEXBot, source: GEXBotAPISource) -> None:
    before = metric("pipeline_gexbot_requests_total", endpoint="chain", status="429")
    fake.rate_limit(times=1, retry_after="1")

    snapshot = source.chain(**SPX_ZERO)

    first, second = fake.requests
    assert (first.status, second.status) == (429, 200)
    assert second.received_at - first.received_at >= 1.0, "the retry came before Retry-After allowed"
    assert snapshot.timestamp == 1777492800
    assert metric("pipeline_gexbot_requests_total", endpoint="chain", status="429") == before + 1


def test_a_retry_after_beyond_the_cap_fails_at_once(fake: FakeGEXBot, source: GEXBotAPISource) -> None:
    fake.rate_limit(times=1, retry_after="30")
    with pytest.raises(GEXSourceError, match=r"rate-limited \(429\).*retry after 30 s, more than the 2 s cap"):
        source.chain(**SPX_ZERO)
    assert len(fake.requests) == 1


def test_retry_after_is_read_as_seconds_or_an_http_date() -> None:
    now = datetime(2026, 4, 29, 20, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("3", now=now) == 3.0
    assert retry_after_seconds(" 0.5 ", now=now) == 0.5
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=7), usegmt=True), now=now) == 7.0
    assert retry_after_seconds("Wed, 29 Apr 2026 19:59:00 GMT", now=now) == 0.0  # already past
    assert retry_after_seconds("soon", now=now) is None
    assert retry_after_seconds(None, now=now) is None


def test_server_errors_are_retried_then_succeed(fake: FakeGEXBot, source: GEXBotAPISource) -> None:
    fake.fail(times=2, status=503)
    snapshot = source.chain(**SPX_ZERO)
    assert [request.status for request in fake.requests] == [503, 503, 200]
    assert snapshot.spot == 7138.55


def test_retries_exhausted_raise_a_source_error_naming_status_and_url(
    fake: FakeGEXBot, source: GEXBotAPISource
) -> None:
    fake.fail(times=5, status=502)
    with pytest.raises(GEXSourceError) as caught:
        source.chain(**SPX_ZERO)
    assert not isinstance(caught.value, GEXSourceUnavailable)
    message = str(caught.value)
    assert f"GEXBot answered 502 for {fake.base_url}/SPX/classic/gex_zero" in message
    assert "gave up after 3 attempts" in message
    assert [request.status for request in fake.requests] == [502, 502, 502]


def test_a_slow_answer_times_out_and_is_retried(fake: FakeGEXBot) -> None:
    fake.slow(times=1, seconds=1.5)
    with GEXBotAPISource(make_config(fake, timeout_seconds=0.3)) as client:
        snapshot = client.chain(**SPX_ZERO)
    assert snapshot.timestamp == 1777492800
    assert len(fake.requests) == 2


def test_the_breaker_opens_skips_requests_across_workers_then_closes(fake: FakeGEXBot) -> None:
    config = make_config(fake, retries=0, breaker_fail_max=2, breaker_reset_seconds=2.0)
    worker_a, worker_b = GEXBotAPISource(config), GEXBotAPISource(config)
    skipped = metric("pipeline_gex_polls_skipped_total", reason="breaker_open")
    fake.go_down(status=503)

    for _ in range(2):
        with pytest.raises(GEXSourceError, match="answered 503"):
            worker_a.chain(**SPX_ZERO)
    assert len(fake.requests) == 2
    assert worker_a.breaker_state() == "open"

    with pytest.raises(GEXSourceUnavailable, match="circuit breaker is open"):
        worker_a.chain(**SPX_ZERO)
    # Another worker process shares the breaker through Redis and does not call either.
    with pytest.raises(GEXSourceUnavailable):
        worker_b.majors(**SPX_ZERO)
    assert len(fake.requests) == 2, "an open breaker must not let requests through"
    assert metric("pipeline_gex_polls_skipped_total", reason="breaker_open") == skipped + 2
    assert get_redis().get(f"{keys.gex_breaker('gexbot')}:pybreaker:state") == b"open"

    fake.come_back()
    time.sleep(config.breaker_reset_seconds)
    snapshot = worker_b.chain(**SPX_ZERO)  # the trial call
    assert snapshot.spot == 7138.55
    assert worker_a.breaker_state() == "closed"
    worker_a.chain(**SPX_ZERO)
    assert [request.status for request in fake.requests] == [503, 503, 200, 200]
    worker_a.close()
    worker_b.close()


def test_requests_a_server_refuses_do_not_open_the_breaker(fake: FakeGEXBot, source: GEXBotAPISource) -> None:
    for _ in range(3):
        with pytest.raises(GEXSourceError, match=r"GEXBot answered 404 .*Ticker ZZZ not found"):
            source.chain(ticker="ZZZ", package="classic", category="gex_zero")
    assert source.breaker_state() == "closed"
    assert source.chain(**SPX_ZERO).spot == 7138.55
    assert len(fake.requests) == 4


def test_a_malformed_body_is_a_payload_error_not_retried_and_logged_with_the_url(
    fake: FakeGEXBot, source: GEXBotAPISource, caplog: pytest.LogCaptureFixture
) -> None:
    before = metric("pipeline_gexbot_payload_errors_total", endpoint="chain")
    fake.malformed(times=3, body=b'{"timestamp": 1777492800, "spot": 71')
    url = f"{fake.base_url}/SPX/classic/gex_zero"

    with caplog.at_level(logging.WARNING), pytest.raises(GEXPayloadError) as caught:
        source.chain(**SPX_ZERO)

    assert str(caught.value).startswith(f"{url}: SPX/classic/gex_zero chain: body is not JSON")
    assert len(fake.requests) == 1, "a malformed body must not be retried"
    assert metric("pipeline_gexbot_payload_errors_total", endpoint="chain") == before + 1
    logged = [record.getMessage() for record in caplog.records if "gexbot.payload_error" in record.getMessage()]
    assert len(logged) == 1
    assert url in logged[0]
    assert '{"timestamp": 1777492800, "spot": 71' in logged[0]
    assert source.breaker_state() == "closed"


def test_history_downloads_the_presigned_file_without_the_api_key(fake: FakeGEXBot, source: GEXBotAPISource) -> None:
    snapshots = source.history(ticker="SPX", package="classic", category="full", day=date(2026, 4, 29))

    assert [snapshot.timestamp for snapshot in snapshots] == [1777469400, 1777469401, 1777469402]
    assert all((s.ticker, s.package, s.category) == ("SPX", "classic", "gex_full") for s in snapshots)
    (link,) = fake.requests_to("/v2/hist/")
    assert link.path == "/v2/hist/SPX/classic/gex_full/2026-04-29"
    assert link.query == "noredirect"
    assert link.header("Authorization") == f"Bearer {FAKE_API_KEY}"
    (download,) = fake.requests_to("/presigned/")
    assert download.header("Authorization") is None, "the API key leaked to the presigned URL"
    assert "gzip" in (download.header("Accept-Encoding") or "")
    assert download.status == 200


def test_history_of_another_day_is_that_days_snapshots(fake: FakeGEXBot, source: GEXBotAPISource) -> None:
    snapshots = source.history(ticker="NQ_NDX", package="classic", category="gex_full", day=date(2026, 4, 30))
    assert [snapshot.timestamp for snapshot in snapshots] == [1777555800, 1777555801, 1777555802]
    assert datetime.fromtimestamp(snapshots[0].timestamp, tz=UTC) == datetime(2026, 4, 30, 13, 30, tzinfo=UTC)
    assert {snapshot.ticker for snapshot in snapshots} == {"NQ_NDX"}


def test_a_history_url_is_downloaded_directly_and_a_refused_one_hides_its_signature(
    fake: FakeGEXBot, source: GEXBotAPISource
) -> None:
    source.history(ticker="SPX", package="classic", category="gex_full", day=date(2026, 4, 29))
    download = fake.requests_to("/presigned/")[0]
    url = f"{fake.root_url}{download.path}?{download.query}"

    again = source.history_download(url=url, ticker="SPX", package="classic", category="gex_full")
    assert len(again) == 3

    forged = f"{fake.root_url}{download.path}?X-Amz-Signature=forged"
    with pytest.raises(GEXSourceError) as caught:
        source.history_download(url=forged, ticker="SPX", package="classic", category="gex_full")
    message = str(caught.value)
    assert "denied access (403)" in message
    assert "presigned URL may have expired" in message
    assert "forged" not in message


def test_a_failing_history_download_is_retried_then_reported(fake: FakeGEXBot, source: GEXBotAPISource) -> None:
    fake.fail(times=5, status=500, path_prefix="/presigned/")
    with pytest.raises(GEXSourceError, match=r"history file host answered 500 .*gave up after 3 attempts"):
        source.history(ticker="SPX", package="classic", category="gex_full", day=date(2026, 4, 29))
    assert [request.status for request in fake.requests_to("/presigned/")] == [500, 500, 500]


def test_a_malformed_history_file_names_the_element(fake: FakeGEXBot, source: GEXBotAPISource) -> None:
    snapshots = json.loads(payload("history_SPX_classic_gex_full.json"))
    snapshots[1]["spot"] = None
    fake.history_files[("SPX", "classic", "gex_full", date(2026, 4, 29))] = json.dumps(snapshots).encode()
    with pytest.raises(GEXPayloadError, match=r"SPX/classic/gex_full history: \[1\]\.spot: missing"):
        source.history(ticker="SPX", package="classic", category="gex_full", day=date(2026, 4, 29))
    assert len(fake.requests_to("/presigned/")) == 1


def test_config_from_env_checks_the_key_and_reads_the_base_url() -> None:
    env = load_env(environ={"GEXBOT_API_KEY": "gexbot_custom_abc", "GEXBOT_BASE_URL": "http://127.0.0.1:9/v2"})
    config = GEXBotConfig.from_env(env)
    assert (config.api_key, config.base_url, config.timeout_seconds) == (
        "gexbot_custom_abc",
        "http://127.0.0.1:9/v2",
        2.5,
    )
    assert "gexbot_custom_abc" not in repr(config)

    for key, problem in [
        ("abc123", "must start with 'gexbot_custom_'"),
        ("research_abc", "a research_ key only works for /research"),
        ("gexbot_custom_", "no secret after it"),
        ("", "is empty"),
        ("gexbot_custom_abc ", "whitespace"),
    ]:
        with pytest.raises(ConfigError) as caught:
            GEXBotConfig.from_env(load_env(environ={"GEXBOT_API_KEY": key}))
        assert caught.value.problems[0].variable == "GEXBOT_API_KEY"
        assert problem in caught.value.problems[0].message

    with pytest.raises(ConfigError, match="GEXBOT_BASE_URL"):
        load_env(environ={"GEXBOT_BASE_URL": "api.gex.bot/v2/"})


def test_the_fake_runs_as_a_process_for_the_demo() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.gexbot", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        base_url = line.split("GEXBOT_BASE_URL=")[1].strip(" )\n")
        with GEXBotAPISource(GEXBotConfig(api_key=FAKE_API_KEY, base_url=base_url), shared_breaker=False) as client:
            assert client.chain(**SPX_ZERO).spot == 7138.55
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def test_no_log_record_carries_a_presigned_signature_or_the_api_key(
    fake: FakeGEXBot, source: GEXBotAPISource, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    source.history(ticker="SPX", package="classic", category="gex_full", day=date(2026, 4, 29))
    signature = fake.requests_to("/presigned/")[0].query.split("=", 1)[1]
    # A link answer that is not a URL is logged with a sample of its body, which quotes a signed URL.
    fake.respond(status=200, body=b'{"url": "ftp://files.example/x.json?X-Amz-Signature=sig-in-body-1234"}')
    with pytest.raises(GEXPayloadError):
        source.history(ticker="SPX", package="classic", category="gex_full", day=date(2026, 4, 30))
    logged = [f"{record.getMessage()} {record.msg}" for record in caplog.records]
    assert any("gexbot.payload_error" in line for line in logged)
    for secret in (signature, "sig-in-body-1234", FAKE_API_KEY):
        assert not [line for line in logged if secret in line]
    # httpx and httpcore log each request's full URL at INFO and DEBUG.
    assert logging.getLogger("httpx").getEffectiveLevel() == logging.WARNING
    assert logging.getLogger("httpcore").getEffectiveLevel() == logging.WARNING
