"""Who may open a WebSocket: the same rules as the REST API (an API token or the Django session),
and, for browsers, a page of this site.

A token comes in `Authorization: Bearer <token>` or, because browsers cannot set headers on a
WebSocket, as a subprotocol: the client offers `["pipeline.v1", "token.<token>"]` and the server
answers `pipeline.v1`, never the token. A URL is never the place: access logs, proxies and
browser history keep URLs, so `?token=` is not read. A valid token wins over the session, as in
REST. The consumer closes an unauthenticated connection with 4401.

Cross-site WebSocket hijacking rides on the session cookie, so an `Origin` header (every browser
sends one) must name an allowed host; a client without one (Sierra Chart bridge, scripts) is not a
browser and carries no cookie of ours by accident, so it passes on to authentication.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import ParseResult

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.security.websocket import OriginValidator
from django.conf import settings

from apps.accounts.services import token_user

_token_user = database_sync_to_async(token_user)

# The protocol the server speaks; a browser fails the handshake unless the server answers one of
# the subprotocols it offered, so this one goes beside the token.
PROTOCOL = "pipeline.v1"
TOKEN_PROTOCOL_PREFIX = "token."  # noqa: S105 - a prefix, not a secret


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def raw_token(scope: dict[str, Any]) -> str | None:
    """The token a client sent, from the Authorization header or a `token.<token>` subprotocol."""
    authorization = _header(scope, b"authorization")
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    for offered in scope.get("subprotocols", []):
        if offered.startswith(TOKEN_PROTOCOL_PREFIX) and len(offered) > len(TOKEN_PROTOCOL_PREFIX):
            return str(offered[len(TOKEN_PROTOCOL_PREFIX) :])
    return None


def answered_subprotocol(scope: dict[str, Any]) -> str | None:
    """The subprotocol to accept with: `pipeline.v1` when offered, never a token."""
    return PROTOCOL if PROTOCOL in scope.get("subprotocols", []) else None


class TokenAuthMiddleware(BaseMiddleware):
    """Sets scope["user"] (and scope["api_token"]) from a valid token; leaves the session's user otherwise."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        token = raw_token(scope)
        if token:
            found = await _token_user(token)
            if found is not None:
                scope = {**scope, "user": found[0], "api_token": found[1]}
        return await super().__call__(scope, receive, send)


class SessionUser:
    """scope["user"] from the Django session, resolved by channels' AuthMiddlewareStack, while the
    application keeps the server's own `send`: that stack wraps `send` to save a modified session,
    a check run on every frame sent (a tenth of the send cost in a fan-out profile) that never
    applies here (nothing writes the session over a WebSocket)."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        async def with_user(resolved: dict[str, Any], _receive: Any, _wrapped_send: Any) -> Any:
            return await self.application(resolved, receive, send)

        return await AuthMiddlewareStack(with_user)(scope, receive, send)


class OriginCheck(OriginValidator):
    """Channels' AllowedHostsOriginValidator, except that a missing Origin header is allowed;
    reads settings.ALLOWED_HOSTS on each connection."""

    def __init__(self, application: Any) -> None:
        super().__init__(application, [])

    def valid_origin(self, parsed_origin: ParseResult | None) -> bool:
        if parsed_origin is None:
            return True
        allowed = list(settings.ALLOWED_HOSTS)
        if settings.DEBUG and not allowed:
            allowed = ["localhost", "127.0.0.1", "[::1]"]
        return any(pattern == "*" or self.match_allowed_origin(parsed_origin, pattern) for pattern in allowed)


def websocket_auth(application: Any) -> Any:
    """Origin check, then the session's user, then a token's user, then `application`."""
    return OriginCheck(SessionUser(TokenAuthMiddleware(application)))
