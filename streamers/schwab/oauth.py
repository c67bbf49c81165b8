"""Schwab's OAuth: the authorization-code login and the refresh of the 30-minute access token.

The refresh token lasts 7 days from the login and refreshing does not extend it (schwab-py
`docs/auth.rst`); after that only a new login (`manage.py schwab_login`) helps.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from apps.brokers.providers import login_command
from apps.brokers.tokens import TokenUpdate
from apps.core.clock import utc_now

AUTHORIZE_PATH = "/v1/oauth/authorize"
TOKEN_PATH = "/v1/oauth/token"  # noqa: S105 - a URL path, not a secret
REFRESH_TOKEN_LIFETIME = timedelta(days=7)
TIMEOUT = 15.0
# What Schwab answers when the app key/secret or a grant is not accepted.
REFUSALS = {"invalid_client", "invalid_grant", "unauthorized_client", "invalid_request"}


class SchwabAuthError(Exception):
    """Schwab refused the app's credentials or a grant; the message says what to fix. Never retried."""


class SchwabRateLimitedError(ConnectionError):
    """Schwab answered 429; try again after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class SchwabApp:
    api_url: str
    app_key: str = field(repr=False)
    app_secret: str = field(repr=False)
    callback_url: str = "https://127.0.0.1:8182"


@dataclass(frozen=True)
class LoginTokens:
    access_token: str = field(repr=False)
    access_expires_at: datetime
    refresh_token: str = field(repr=False)
    refresh_expires_at: datetime
    issued_at: datetime
    extra: dict[str, Any] = field(repr=False)


def authorize_url(app: SchwabApp) -> str:
    return f"{app.api_url}{AUTHORIZE_PATH}?" + urlencode({"client_id": app.app_key, "redirect_uri": app.callback_url})


def code_from_redirect(url: str) -> str:
    """The authorization code in the URL the browser was sent to after the login."""
    query = parse_qs(urlsplit(url.strip()).query)
    if "error" in query:
        raise SchwabAuthError(f"Schwab refused the login: {query['error'][0]} (run the login again)")
    codes = query.get("code")
    if not codes or not codes[0]:
        raise SchwabAuthError("the URL has no ?code=...: paste the whole address the browser shows after the login")
    return codes[0]


def retry_after(response: httpx.Response) -> float:
    try:
        return max(1.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return 5.0


def _token_request(app: SchwabApp, form: dict[str, str], *, what: str) -> dict[str, Any]:
    try:
        response = httpx.post(
            f"{app.api_url}{TOKEN_PATH}", data=form, auth=(app.app_key, app.app_secret), timeout=TIMEOUT
        )
    except httpx.HTTPError as error:
        raise ConnectionError(f"Schwab token endpoint unreachable: {type(error).__name__}") from None
    if response.status_code == 429:
        raise SchwabRateLimitedError(f"Schwab rate-limited the {what} (429)", retry_after(response))
    if response.status_code >= 500:
        raise ConnectionError(f"Schwab token endpoint answered {response.status_code} to the {what}")
    body: dict[str, Any] = {}
    with contextlib.suppress(ValueError):
        body = response.json()
    if response.status_code != 200:
        reason = str(body.get("error", response.status_code))
        description = str(body.get("error_description", ""))[:200]
        if response.status_code == 401 or (reason == "invalid_client" and "refresh" not in description):
            raise SchwabAuthError(
                f"Schwab refused the app credentials ({reason}: {description}):"
                " check SCHWAB_APP_KEY and SCHWAB_APP_SECRET"
            )
        raise SchwabAuthError(f"Schwab refused the {what} ({reason}: {description}); run: {login_command('schwab')}")
    if not isinstance(body.get("access_token"), str) or not isinstance(body.get("expires_in"), int | float):
        raise ConnectionError(f"Schwab's answer to the {what} has no access_token/expires_in")
    return body


def exchange_code(app: SchwabApp, code: str) -> LoginTokens:
    """Trade the authorization code for the first access and refresh tokens."""
    body = _token_request(
        app, {"grant_type": "authorization_code", "code": code, "redirect_uri": app.callback_url}, what="login"
    )
    now = utc_now()
    return LoginTokens(
        access_token=body["access_token"],
        access_expires_at=now + timedelta(seconds=float(body["expires_in"])),
        refresh_token=str(body.get("refresh_token", "")),
        refresh_expires_at=now + REFRESH_TOKEN_LIFETIME,
        issued_at=now,
        extra={key: body[key] for key in ("id_token", "scope", "token_type") if key in body},
    )


def refresh(app: SchwabApp, refresh_token: str) -> TokenUpdate:
    """A new access token; the refresh token and its end stay as they are."""
    body = _token_request(app, {"grant_type": "refresh_token", "refresh_token": refresh_token}, what="token refresh")
    return TokenUpdate(
        access_token=body["access_token"],
        access_expires_at=utc_now() + timedelta(seconds=float(body["expires_in"])),
        refresh_token=str(body.get("refresh_token") or refresh_token),
    )
