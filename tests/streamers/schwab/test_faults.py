"""The Schwab streamer's faults against the fake, over real sockets: refused logins, another
connection taking the session, silence, code 30, 429s, an ended login, drops and back-fill."""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta

import pytest
from django.conf import settings

from apps.brokers.selectors import token_get
from apps.brokers.services import token_save
from apps.core.clock import utc_now
from apps.core.services import runtime_setting_update
from apps.marketdata.selectors import dead_letters_list, gaps_list
from streamers.feed import ConnectionLostError
from streamers.runner import StreamerRunner
from streamers.schwab.client import SchwabLoginError, SessionTakenError
from tests.conftest import ProcessGroup
from tests.fakes.schwab import APP_KEY, FakeSchwab, FakeSchwabThread
from tests.streamers.schwab.conftest import login, run_with, runner_config, schwab_client, until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def run(scenario_factory, **fake_options):  # type: ignore[no-untyped-def]
    async def main() -> None:
        fake = FakeSchwab(**fake_options)
        await fake.start()
        try:
            await scenario_factory(fake)
        finally:
            await fake.stop()

    asyncio.run(main())


def test_a_refused_login_is_retried_once_with_a_refreshed_token(token_key: str) -> None:
    async def scenario(fake: FakeSchwab) -> None:
        tokens = await asyncio.to_thread(login, fake)
        fake.deny_logins = 1
        runner = StreamerRunner(schwab_client(fake), runner_config(), redis_url=settings.REDIS_URL)
        await run_with(runner, lambda: until(lambda: runner.connected and runner.messages > 5))
        refreshes = [request for request in fake.token_requests if request["grant_type"] == "refresh_token"]
        assert [request["refresh_token"] for request in refreshes] == [tokens["refresh_token"]]
        assert fake.logins == 1
        stored = await asyncio.to_thread(token_get, provider="schwab")
        assert stored.access_token != tokens["access_token"]

    run(scenario)


def test_a_login_refused_twice_stops_naming_the_login_command(token_key: str) -> None:
    async def scenario(fake: FakeSchwab) -> None:
        await asyncio.to_thread(login, fake)
        fake.deny_logins = 5
        runner = StreamerRunner(schwab_client(fake), runner_config(), redis_url=settings.REDIS_URL)
        with pytest.raises(
            SchwabLoginError, match=r"refused the streamer login twice .*run: python manage\.py schwab_login"
        ):
            await asyncio.wait_for(runner.run(), timeout=30)
        assert fake.deny_logins == 3  # two attempts, no retry loop

    run(scenario)


def test_code_12_another_connection_took_the_session_stops_without_a_fight(token_key: str) -> None:
    async def scenario(fake: FakeSchwab) -> None:
        await asyncio.to_thread(login, fake)
        runner = StreamerRunner(schwab_client(fake), runner_config(), redis_url=settings.REDIS_URL)
        task = asyncio.create_task(runner.run())
        await until(lambda: runner.connected and runner.messages > 3)
        await fake.take_session()
        with pytest.raises(SessionTakenError, match=r"code 12.*one streamer connection per account"):
            await asyncio.wait_for(task, timeout=30)
        assert fake.logins == 1  # it did not log in again to take the session back

    run(scenario)


def test_heartbeats_keep_a_quiet_feed_alive_and_silence_reconnects(token_key: str) -> None:
    async def scenario(fake: FakeSchwab) -> None:
        await asyncio.to_thread(login, fake)
        await asyncio.to_thread(runtime_setting_update, key="marketdata.heartbeat_timeout_seconds", value=1.0)
        runner = StreamerRunner(schwab_client(fake), runner_config(), redis_url=settings.REDIS_URL)

        async def body() -> None:
            await until(lambda: runner.connected)
            fake.instruments.clear()  # no market data at all: only heartbeats (every 0.2 s)
            client = runner.client
            beats = client.parser.heartbeats  # type: ignore[attr-defined]
            await until(lambda: client.parser.heartbeats >= beats + 10)  # type: ignore[attr-defined]
            assert runner.reconnects == 0
            fake.paused = True  # heartbeats stop too: the watchdog reconnects
            await until(lambda: runner.reconnects >= 1)
            fake.paused = False
            await until(lambda: runner.gaps >= 1)

        await run_with(runner, body)
        gaps = await asyncio.to_thread(gaps_list, feed="schwab")
        assert "heartbeat watchdog" in gaps[0].reason

    run(scenario, heartbeat_interval=0.2)


def test_code_30_stop_streaming_closes_the_session() -> None:
    async def scenario(fake: FakeSchwab) -> None:
        await asyncio.to_thread(login, fake)
        client = schwab_client(fake)
        await client.connect()
        await client.subscribe([])

        async def read_until_closed() -> None:
            while True:
                await asyncio.wait_for(client.receive(), timeout=10)

        with pytest.raises(ConnectionLostError, match="code 30"):
            await read_until_closed()
        await client.close()

    run(scenario, empty_timeout=0.3)


def test_429_on_rest_backs_off_and_connects(token_key: str) -> None:
    async def scenario(fake: FakeSchwab) -> None:
        await asyncio.to_thread(login, fake)
        fake.rate_limit(2)
        runner = StreamerRunner(schwab_client(fake), runner_config(), redis_url=settings.REDIS_URL)
        await run_with(runner, lambda: until(lambda: runner.connected and runner.messages > 3))
        assert fake.rate_limited == 2
        assert fake.logins == 1

    run(scenario)


def test_symbol_limit_and_unknown_service_fail_the_command_not_the_connection(token_key: str) -> None:
    async def scenario(fake: FakeSchwab) -> None:
        await asyncio.to_thread(login, fake)
        client = schwab_client(fake)
        await client.connect()
        await client.subscribe(["ESZ26", "NQZ26"])  # over the fake's limit of one symbol
        await client._subscription("TIMESALE_EQUITY", "SUBS", ["AAPL"], "0,1")
        codes = {(service, code) for service, code, _ in client.failed_commands}
        assert ("LEVELONE_FUTURES", 19) in codes
        assert ("TIMESALE_EQUITY", 11) in codes
        assert fake.sessions  # still connected
        await client.close()

    run(scenario, symbol_limit=1)


def test_an_access_token_about_to_end_is_refreshed_by_itself(token_key: str) -> None:
    async def scenario(fake: FakeSchwab) -> None:
        tokens = await asyncio.to_thread(login, fake, access_seconds=240)  # inside the 5-minute leeway
        runner = StreamerRunner(schwab_client(fake), runner_config(), redis_url=settings.REDIS_URL)
        await run_with(runner, lambda: until(lambda: runner.connected))
        stored = await asyncio.to_thread(token_get, provider="schwab")
        assert stored.access_token != tokens["access_token"]
        assert stored.access_expires_at - utc_now() > timedelta(minutes=25)
        assert stored.refresh_expires_at is not None
        assert stored.refresh_expires_at - utc_now() < timedelta(days=7)  # not extended

    run(scenario)


def test_a_login_ending_while_streaming_stops_the_streamer_saying_what_to_run(token_key: str) -> None:
    async def scenario(fake: FakeSchwab) -> None:
        await asyncio.to_thread(login, fake, refresh_days=2 / 86400)  # the 7 days end in 2 s
        runner = StreamerRunner(
            schwab_client(fake, token_check_interval=0.2), runner_config(), redis_url=settings.REDIS_URL
        )
        task = asyncio.create_task(runner.run())
        await until(lambda: runner.connected)
        with pytest.raises(SchwabLoginError, match=r"refresh token ended at .*run: python manage\.py schwab_login"):
            await asyncio.wait_for(task, timeout=30)

    run(scenario)


def test_a_drop_records_the_gap_and_back_fills_the_minute_bars_from_price_history(token_key: str) -> None:
    async def scenario(fake: FakeSchwab) -> None:
        await asyncio.to_thread(login, fake)
        client = schwab_client(fake)
        runner = StreamerRunner(client, runner_config(), redis_url=settings.REDIS_URL)

        async def body() -> None:
            await until(lambda: len(fake.sent_trades) >= 10)
            await fake.drop()
            await until(lambda: runner.gaps >= 1 and client.backfills >= 1)

        await run_with(runner, body)
        assert client.backfilled_bars >= 1
        gaps = await asyncio.to_thread(gaps_list, feed="schwab")
        assert len(gaps) == 1
        assert fake.logins == 2

    run(scenario)


def test_wrong_app_credentials_exit_non_zero_with_one_line_and_no_retry(
    token_key: str, processes: ProcessGroup, process_env: dict[str, str]
) -> None:
    with FakeSchwabThread() as fake:
        tokens = fake.issue_tokens()
        token_save(
            provider="schwab",
            access_token=tokens["access_token"],
            access_expires_at=utc_now() - timedelta(minutes=1),  # needs a refresh, which needs the app secret
            refresh_token=tokens["refresh_token"],
            refresh_expires_at=utc_now() + timedelta(days=6),
        )
        env = {
            **process_env,
            "BROKER_TOKEN_KEY": token_key,
            "SCHWAB_ENABLED": "true",
            "SCHWAB_APP_KEY": APP_KEY,
            "SCHWAB_APP_SECRET": "not-the-secret",
            "SCHWAB_API_URL": fake.api_url,
        }
        process = processes.start(
            "schwab", [sys.executable, "manage.py", "run_streamer", "schwab", "--metrics-port", "0"], env
        )
        assert process.wait(timeout=120) != 0
        output = processes.log("schwab")
        errors = [line for line in output.splitlines() if line.startswith("CommandError")]
        assert errors == [
            "CommandError: Schwab refused the app credentials (invalid_client: Client authentication failed):"
            " check SCHWAB_APP_KEY and SCHWAB_APP_SECRET"
        ], output
        assert "not-the-secret" not in output
        assert len(fake.token_requests) == 1


def test_malformed_frames_are_dead_lettered_and_the_feed_goes_on(token_key: str) -> None:
    async def scenario(fake: FakeSchwab) -> None:
        await asyncio.to_thread(login, fake)
        runner = StreamerRunner(schwab_client(fake), runner_config(), redis_url=settings.REDIS_URL)

        async def body() -> None:
            await until(lambda: len(fake.sent_trades) >= 3)
            await fake.send_raw(
                '{"data":[{"service":"LEVELONE_FUTURES","timestamp":1,"content":[{"key":"/ESZ26","8":"x"}]}]}'
            )
            await fake.send_raw('{"data":[{"service":"TIMESALE_FUTURES","timestamp":1,"content":[]}]}')
            await until(lambda: runner.dead_letters == 2)
            sent = len(fake.sent_trades)
            await until(lambda: len(fake.sent_trades) > sent + 3 and runner.events_written > 0)

        await run_with(runner, body)
        letters = await asyncio.to_thread(dead_letters_list, source="schwab")
        reasons = sorted(letter["reason"].split(":")[0] for letter in letters)
        assert reasons == ["bad_row", "unknown_service"]
        assert runner.reconnects == 0

    run(scenario)


def test_the_symbol_list_and_on_off_apply_without_a_restart(token_key: str) -> None:
    """brokers.schwab_symbols (else marketdata.symbols) and marketdata.disabled_streamers, edited
    while the streamer runs."""

    def subscribed(fake: FakeSchwab) -> set[str]:
        return {key for session in fake.sessions for key in session.subs.get("LEVELONE_FUTURES", {})}

    async def scenario(fake: FakeSchwab) -> None:
        await asyncio.to_thread(login, fake)
        await asyncio.to_thread(runtime_setting_update, key="brokers.schwab_symbols", value=["ESZ26"])
        config = runner_config(fixed_symbols=None, symbols_setting="brokers.schwab_symbols")
        runner = StreamerRunner(schwab_client(fake), config, redis_url=settings.REDIS_URL)

        async def body() -> None:
            await until(lambda: subscribed(fake) == {"/ESZ26"})
            await asyncio.to_thread(runtime_setting_update, key="brokers.schwab_symbols", value=["ESZ26", "NQZ26"])
            await until(lambda: subscribed(fake) == {"/ESZ26", "/NQZ26"})
            assert fake.logins == 1  # the same connection, subscribed again
            await asyncio.to_thread(runtime_setting_update, key="marketdata.disabled_streamers", value=["schwab"])
            await until(lambda: not fake.sessions and runner.state == "disabled")
            await asyncio.to_thread(runtime_setting_update, key="marketdata.disabled_streamers", value=[])
            await until(lambda: fake.logins == 2 and subscribed(fake) == {"/ESZ26", "/NQZ26"})

        await run_with(runner, body)

    run(scenario)
