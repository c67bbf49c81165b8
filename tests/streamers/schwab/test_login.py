"""`manage.py schwab_login` against the fake's OAuth over HTTP: the URL, the code exchange, the store."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.core.management import CommandError, call_command
from pydantic import SecretStr

from apps.brokers.selectors import token_get
from apps.core.clock import utc_now
from apps.core.platform import platform_processes
from tests.fakes.schwab import APP_KEY, APP_SECRET, FakeSchwabThread

pytestmark = [pytest.mark.django_db(transaction=True)]


def _schwab_env(settings: Any, api_url: str, secret: str = APP_SECRET) -> None:
    settings.ENV = settings.ENV.model_copy(
        update={
            "SCHWAB_API_URL": api_url,
            "SCHWAB_APP_KEY": SecretStr(APP_KEY),
            "SCHWAB_APP_SECRET": SecretStr(secret),
        }
    )


def test_login_prints_the_url_takes_the_redirect_back_and_stores_the_tokens(settings: Any, monkeypatch: Any) -> None:
    with FakeSchwabThread() as fake:
        _schwab_env(settings, fake.api_url)
        # The person's part: open the printed URL, log in, land on the callback with ?code=.
        out = io.StringIO()

        class Typing(io.StringIO):
            """The person at the keyboard: opens the printed URL (the fake logs them in and
            redirects to the callback), then pastes the address the browser landed on."""

            def readline(self, *args: Any) -> str:
                url = next(line.strip() for line in out.getvalue().splitlines() if "/v1/oauth/authorize?" in line)
                return httpx.get(url, follow_redirects=False).headers["location"] + "\n"

        monkeypatch.setattr("sys.stdin", Typing())
        call_command("schwab_login", stdout=out)
        token = token_get(provider="schwab")
        assert token.access_token in fake.access_tokens
        assert token.refresh_token in fake.refresh_tokens
        assert token.refresh_expires_at is not None
        assert timedelta(days=6, hours=23) < token.refresh_expires_at - utc_now() <= timedelta(days=7)
        grant = fake.token_requests[-1]
        assert grant["grant_type"] == "authorization_code"
        assert grant["code"] == "fake-code@"
        query = parse_qs(urlsplit(out.getvalue().split("/v1/oauth/authorize?", 1)[1].split()[0]).path)
        assert query["client_id"] == [APP_KEY]
        assert "Schwab login stored for account 'default'" in out.getvalue()
        assert token.access_token not in out.getvalue()


def test_a_wrong_app_secret_is_one_line_naming_the_variables(settings: Any) -> None:
    with FakeSchwabThread() as fake:
        _schwab_env(settings, fake.api_url, secret="wrong")
        with pytest.raises(CommandError, match=r"check SCHWAB_APP_KEY and SCHWAB_APP_SECRET"):
            call_command("schwab_login", redirected_url="https://127.0.0.1:8182/?code=fake-code%40")


def test_a_redirect_without_a_code_says_what_to_paste(settings: Any) -> None:
    _schwab_env(settings, "http://127.0.0.1:9")
    with pytest.raises(CommandError, match=r"paste the whole address"):
        call_command("schwab_login", redirected_url="https://127.0.0.1:8182/")


def test_make_run_starts_the_schwab_streamer_when_it_is_switched_on(settings: Any) -> None:
    off = {spec.name for spec in platform_processes(env=settings.ENV, web_port=1, flower_port=2)}
    on_env = settings.ENV.model_copy(update={"SCHWAB_ENABLED": True})
    on = {spec.name: spec.command[-3:] for spec in platform_processes(env=on_env, web_port=1, flower_port=2)}
    assert "schwab" not in off
    assert on["schwab"] == ["manage.py", "run_streamer", "schwab"]
