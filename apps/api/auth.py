"""Who is calling: a hashed API token (`Authorization: Bearer <token>`) or the Django session.

Tokens are checked by `apps.accounts.services.token_user`, as on the WebSocket gateway. The ninja
security classes below turn either way of signing in into a `Caller`, which handlers,
the rate limiter and the request log read from `request.auth`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from apps.accounts.models import APIToken
from apps.accounts.services import token_user


@dataclass(frozen=True)
class Caller:
    user: Any
    token: APIToken | None = None

    @property
    def is_staff(self) -> bool:
        return bool(getattr(self.user, "is_staff", False))

    @property
    def rate_subject(self) -> str:
        """One rate-limit budget per token, and one per signed-in browser user."""
        return f"token-{self.token.pk}" if self.token is not None else f"user-{self.user.pk}"

    def log_fields(self) -> dict[str, Any]:
        return {"user_id": self.user.pk, "token_id": self.token.pk if self.token is not None else None}


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Caller | None:
        found = token_user(token)
        return Caller(user=found[0], token=found[1]) if found else None


class SessionCallerAuth(SessionAuth):
    """The browser's Django session; ninja checks the CSRF token on unsafe methods."""

    def _get_key(self, request: HttpRequest) -> str | None:
        # CSRF guards a signed-in browser's session; a caller without one is simply not signed
        # in, and gets 401 like every other unauthenticated call instead of 403 "CSRF check Failed".
        if not request.user.is_authenticated:
            return None
        return super()._get_key(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> Caller | None:
        user = super().authenticate(request, key)
        return Caller(user=user) if user is not None else None


API_AUTH = [TokenAuth(), SessionCallerAuth()]


def request_caller(request: HttpRequest) -> Caller:
    caller = getattr(request, "auth", None)
    if not isinstance(caller, Caller):
        raise RuntimeError("request_caller() called on an operation without API authentication")
    return caller
