"""`manage.py run_streamer tastytrade` as a process against the fake: wrong credentials end it
with one line naming what to fix (and the refused login is not tried again); with the right ones
it streams into Redis and its /metrics shows the connection, messages by type, and token time."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from apps.core.embedded_redis import free_port
from apps.marketdata.selectors import trades_last
from tests.fakes.tastytrade import FAKE_CLIENT_SECRET, FAKE_REFRESH_TOKEN, FakeTastytrade, time_and_sale

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.slow


def streamer_env(process_env: dict[str, str], fake: FakeTastytrade, **overrides: str) -> dict[str, str]:
    env = dict(process_env)
    env.update(
        {
            "TASTYTRADE_API_URL": fake.base_url,
            "TASTYTRADE_CLIENT_SECRET": FAKE_CLIENT_SECRET,
            "TASTYTRADE_REFRESH_TOKEN": FAKE_REFRESH_TOKEN,
            "BROKER_TOKEN_KEY": Fernet.generate_key().decode(),
        }
    )
    env.update(overrides)
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "run_streamer", "tastytrade", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_refused_refresh_token_exits_non_zero_with_one_line_and_no_retry(process_env: dict[str, str]) -> None:
    with FakeTastytrade() as fake:
        result = run(
            ["--symbols", "ESZ26", "--metrics-port", "0"],
            streamer_env(process_env, fake, TASTYTRADE_REFRESH_TOKEN="revoked-grant-0000"),
        )
        oauth_calls = fake.requests.count(("POST", "/oauth/token"))
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("CommandError: tastytrade refused TASTYTRADE_REFRESH_TOKEN")
    assert "invalid_grant" in last
    assert "revoked-grant-0000" not in result.stderr + result.stdout, "the secret is never shown"
    assert oauth_calls == 1


def test_a_wrong_client_secret_a_missing_token_and_a_missing_key_are_named(process_env: dict[str, str]) -> None:
    with FakeTastytrade() as fake:
        wrong_secret = run(["--metrics-port", "0"], streamer_env(process_env, fake, TASTYTRADE_CLIENT_SECRET="nope"))
        missing = run(["--metrics-port", "0"], streamer_env(process_env, fake, TASTYTRADE_REFRESH_TOKEN=""))
        no_key = run(["--metrics-port", "0"], streamer_env(process_env, fake, BROKER_TOKEN_KEY=""))
        assert fake.requests.count(("POST", "/oauth/token")) == 1, "only the wrong secret reached the server"
    assert no_key.returncode != 0
    assert no_key.stderr.strip().splitlines()[-1].startswith("CommandError: BROKER_TOKEN_KEY is not set")
    assert wrong_secret.returncode != 0
    assert "invalid_client" in wrong_secret.stderr.strip().splitlines()[-1]
    assert missing.returncode != 0
    assert missing.stderr.strip().splitlines()[-1].startswith("CommandError: TASTYTRADE_REFRESH_TOKEN is empty")


def test_the_process_streams_and_its_metrics_show_connection_types_and_token_time(
    process_env: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    with FakeTastytrade() as fake:
        log = (tmp_path / "streamer.log").open("wb")
        process = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "run_streamer",
                "tastytrade",
                "--symbols",
                "ESZ26",
                "--metrics-port",
                str(port),
            ],
            cwd=ROOT,
            env=streamer_env(process_env, fake),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while not fake.subscribed("TimeAndSale", "/ESZ26:XCME"):
                assert process.poll() is None, (tmp_path / "streamer.log").read_text()
                assert time.monotonic() < deadline, "never subscribed"
                time.sleep(0.1)
            fake.publish(
                "TimeAndSale",
                [time_and_sale(symbol="/ESZ26:XCME", ts_ns=time.time_ns(), price=6003.5, size=2, side="BUY", index=5)],
            )
            while not trades_last(symbol="ESZ26"):
                assert time.monotonic() < deadline, "the trade never reached Redis"
                time.sleep(0.1)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
                metrics = response.read().decode()
        finally:
            process.terminate()
            process.wait(20)
        secrets = [FAKE_CLIENT_SECRET, FAKE_REFRESH_TOKEN, fake.quote_token, *fake.access_tokens]
    assert process.returncode == 0
    output = (tmp_path / "streamer.log").read_text()
    assert "tastytrade.connected" in output
    assert not [secret for secret in secrets if secret in output], "no token or secret reaches the log"
    assert 'pipeline_streamer_connected{feed="tastytrade"} 1.0' in metrics
    assert 'pipeline_streamer_vendor_events_total{feed="tastytrade",type="TimeAndSale"} 1.0' in metrics
    assert 'pipeline_streamer_messages_by_type_total{feed="tastytrade",type="FEED_DATA"} 1.0' in metrics
    access_left = next(
        float(line.split()[-1])
        for line in metrics.splitlines()
        if line.startswith('pipeline_streamer_token_seconds_left{feed="tastytrade",token="access"}')
    )
    assert 800 < access_left <= 900
    assert 'pipeline_streamer_latency_seconds_count{feed="tastytrade"} 1.0' in metrics


def test_make_run_starts_the_tastytrade_streamer_once_it_is_switched_on() -> None:
    from django.conf import settings

    from apps.core.platform import platform_processes

    def names(enabled: bool) -> list[str]:
        env = settings.ENV.model_copy(update={"TASTYTRADE_ENABLED": enabled})
        return [spec.name for spec in platform_processes(env=env, web_port=8000, flower_port=5555)]

    assert "tastytrade" not in names(False)
    started = names(True)
    assert started[started.index("simulator") + 1] == "tastytrade"
