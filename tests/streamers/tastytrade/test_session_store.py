"""The session kept in the token store (apps/brokers, encrypted with BROKER_TOKEN_KEY): a
restarted streamer reconnects without a new OAuth login or quote token; a session of another
grant is not reused; nothing secret is stored in the clear."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from apps.brokers.models import BrokerToken
from apps.brokers.selectors import token_status_list
from streamers.tastytrade.token_store import BrokerTokenSessionStore
from tests.fakes.tastytrade import FakeTastytrade
from tests.streamers.tastytrade.helpers import ES_DX, make_runner, run_with, subscribed

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def token_key(settings: Any) -> str:
    key = Fernet.generate_key().decode()
    settings.ENV = settings.ENV.model_copy(update={"BROKER_TOKEN_KEY": SecretStr(key)})
    return key


def run_once(fake: FakeTastytrade, **config: Any) -> None:
    async def scenario() -> None:
        runner = make_runner(fake, store=BrokerTokenSessionStore(), config=config or None)
        await run_with(runner, lambda: subscribed(fake, ("TimeAndSale", ES_DX)))

    asyncio.run(scenario())


def test_a_restart_reuses_the_stored_access_and_quote_tokens(token_key: str) -> None:
    with FakeTastytrade() as fake:
        run_once(fake)
        assert (fake.token_grants, fake.quote_token_requests) == (1, 1)
        run_once(fake)
        assert (fake.token_grants, fake.quote_token_requests) == (1, 1), "no new login, no new quote token"
        assert len(fake.connections) == 2
    (status,) = token_status_list(provider="tastytrade")
    assert status.state == "ok"
    assert 800 < status.access_seconds_left <= 900
    row = BrokerToken.objects.get(provider="tastytrade")
    assert fake.quote_token not in row.extra_encrypted
    assert not any(token in row.access_token_encrypted for token in fake.access_tokens)


def test_a_session_of_another_grant_is_not_reused(token_key: str) -> None:
    with FakeTastytrade() as fake:
        run_once(fake)
        fake.refresh_token = "a-new-grant-0000"
        run_once(fake, refresh_token="a-new-grant-0000")
        assert (fake.token_grants, fake.quote_token_requests) == (2, 2)
