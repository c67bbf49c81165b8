"""Reads of the token store: a decrypted token for a client, or the state of every token."""

from __future__ import annotations

import json
from datetime import datetime

from apps.brokers import crypto
from apps.brokers.models import BrokerToken
from apps.brokers.providers import LOGIN_COMMANDS, checked_provider, login_command
from apps.brokers.tokens import REFRESH_WARNING, TokenMissingError, TokenSet, TokenState, TokenStatus
from apps.core.clock import utc_now


def token_set_from_row(row: BrokerToken) -> TokenSet:
    what = f"{row.provider}:{row.account} token"
    return TokenSet(
        provider=row.provider,
        account=row.account,
        access_token=crypto.decrypt(row.access_token_encrypted, what=f"{what} (access)"),
        access_expires_at=row.access_expires_at,
        refresh_token=(
            crypto.decrypt(row.refresh_token_encrypted, what=f"{what} (refresh)") if row.refresh_token_encrypted else ""
        ),
        refresh_expires_at=row.refresh_expires_at,
        refresh_issued_at=row.refresh_issued_at,
        extra=json.loads(crypto.decrypt(row.extra_encrypted, what=f"{what} (session)")) if row.extra_encrypted else {},
        refreshes=row.refreshes,
    )


def token_get(*, provider: str, account: str = "default") -> TokenSet:
    """The stored tokens, decrypted. TokenMissingError (saying how to log in) when there are none;
    TokenKeyError when BROKER_TOKEN_KEY cannot decrypt them."""
    row = BrokerToken.objects.filter(provider=checked_provider(provider), account=account).first()
    if row is None:
        raise TokenMissingError(
            f"no {provider} token is stored for account {account!r}; run: {login_command(provider)}",
            {"provider": provider, "account": account},
        )
    return token_set_from_row(row)


def _state(row: BrokerToken, now: datetime) -> TokenState:
    if row.refresh_expires_at is not None and row.refresh_expires_at <= now:
        return "refresh_expired"
    if row.refresh_expires_at is not None and row.refresh_expires_at - now <= REFRESH_WARNING:
        return "refresh_expiring"
    if row.access_expires_at <= now:
        return "access_expired"
    return "ok"


def token_status_of(row: BrokerToken, *, now: datetime | None = None) -> TokenStatus:
    now = now or utc_now()
    refresh_left = None if row.refresh_expires_at is None else (row.refresh_expires_at - now).total_seconds()
    return TokenStatus(
        provider=row.provider,
        account=row.account,
        access_expires_at=row.access_expires_at,
        access_seconds_left=(row.access_expires_at - now).total_seconds(),
        refresh_expires_at=row.refresh_expires_at,
        refresh_seconds_left=refresh_left,
        refreshes=row.refreshes,
        refreshed_at=row.refreshed_at,
        state=_state(row, now),
        login_command=LOGIN_COMMANDS.get(row.provider, ""),
    )


def token_status_list(*, provider: str | None = None) -> list[TokenStatus]:
    """The state of every stored token (no secret is decrypted, so this works without the key)."""
    rows = BrokerToken.objects.all()
    if provider is not None:
        rows = rows.filter(provider=checked_provider(provider))
    now = utc_now()
    return [token_status_of(row, now=now) for row in rows]
