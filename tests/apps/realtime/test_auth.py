"""Who may connect: the session cookie, an API token in the Authorization header or offered as a
`token.<token>` subprotocol (never in the URL), and nobody else; browsers only from an allowed
origin."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from apps.accounts.models import APIToken
from apps.accounts.services import token_revoke
from tests.apps.realtime.support import SYMBOL, Writer, collect_events, open_ws, recv_json, subscribe, trades


async def _receives_a_trade(url: str, *, subprotocol: str | None = None, **connect: Any) -> list[dict[str, Any]]:
    writer = Writer()
    ws = await open_ws(url, **connect)
    try:
        assert ws.subprotocol == subprotocol
        assert await subscribe(ws, [SYMBOL]) == {"type": "subscribed", "topic": "trades", "symbols": [SYMBOL]}
        entry = await writer.write(trades(1))
        events = await collect_events(ws, count=1)
        assert events[0]["id"] == f"{entry}:0"
        return events
    finally:
        await ws.close()
        await writer.close()


async def _closed_with(url: str, **connect: Any) -> tuple[int, str]:
    ws = await open_ws(url, **connect)
    with pytest.raises(ConnectionClosed) as closed:
        await recv_json(ws)
    received = closed.value.rcvd
    assert received is not None
    return received.code, received.reason


def test_without_credentials_the_connection_is_closed_with_4401_and_a_reason(ws_server: Any) -> None:
    code, reason = asyncio.run(_closed_with(ws_server.url("/ws/trades")))
    assert code == 4401
    assert "authentication required" in reason
    assert "token.<token>" in reason
    assert "?token=" not in reason


def test_the_session_cookie_of_a_signed_in_user_is_accepted(ws_server: Any, session_cookie: str) -> None:
    assert asyncio.run(_receives_a_trade(ws_server.url("/ws/trades"), cookie=session_cookie))


def test_a_token_offered_as_a_subprotocol_is_accepted_and_only_the_protocol_is_answered(
    ws_server: Any, api_token: str
) -> None:
    offered = ["pipeline.v1", f"token.{api_token}"]
    assert asyncio.run(_receives_a_trade(ws_server.url("/ws/trades"), subprotocols=offered, subprotocol="pipeline.v1"))


def test_a_token_in_the_query_string_is_not_read(ws_server: Any, api_token: str) -> None:
    # URLs end up in access logs, proxies and browser history.
    code, _ = asyncio.run(_closed_with(ws_server.url(f"/ws/trades?token={api_token}")))
    assert code == 4401


def test_a_browser_offering_only_the_protocol_gets_it_answered_and_signs_in_with_its_session(
    ws_server: Any, session_cookie: str
) -> None:
    url = ws_server.url("/ws/trades")
    assert asyncio.run(
        _receives_a_trade(url, cookie=session_cookie, subprotocols=["pipeline.v1"], subprotocol="pipeline.v1")
    )


def test_a_bearer_token_header_is_accepted(ws_server: Any, api_token: str) -> None:
    assert asyncio.run(_receives_a_trade(ws_server.url("/ws/trades"), headers={"Authorization": f"Bearer {api_token}"}))


def test_unknown_and_revoked_tokens_are_refused(ws_server: Any, api_token: str) -> None:
    code, _ = asyncio.run(_closed_with(ws_server.url("/ws/trades"), subprotocols=["pipeline.v1", "token.not-a-token"]))
    assert code == 4401
    token_revoke(token=APIToken.objects.get())
    code, _ = asyncio.run(_closed_with(ws_server.url("/ws/trades"), headers={"Authorization": f"Bearer {api_token}"}))
    assert code == 4401


def test_a_browser_page_of_another_site_is_refused_at_the_handshake(
    ws_server: Any, session_cookie: str, settings: Any
) -> None:
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    with pytest.raises(InvalidStatus) as refused:
        asyncio.run(open_ws(ws_server.url("/ws/trades"), cookie=session_cookie, origin="http://evil.example"))
    assert refused.value.response.status_code == 403
    # The dashboard's own page, and a client that is not a browser (no Origin), get through.
    own = f"http://127.0.0.1:{ws_server.port}"
    assert asyncio.run(_receives_a_trade(ws_server.url("/ws/trades"), cookie=session_cookie, origin=own))


def test_an_unknown_path_is_closed_with_4404_naming_the_topics(ws_server: Any, session_cookie: str) -> None:
    code, reason = asyncio.run(_closed_with(ws_server.url("/ws/quotes"), cookie=session_cookie))
    assert code == 4404
    assert "/ws/trades" in reason
