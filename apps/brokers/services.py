"""Writes to the token store: save after a login, refresh under a lock every process shares.

A refresh token may be spent once only by the broker's rules in spirit (Schwab answers a second
refresh with the same token, but two processes racing would each store a different access token,
and a broker that rotates refresh tokens would invalidate one of them). So a refresh happens
under a Redis lock per provider and account, and the token is read again once the lock is held:
a process that waited finds the token another one just refreshed and uses it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import redis
import structlog
from django.db import transaction

from apps.brokers import crypto, metrics
from apps.brokers.models import BrokerToken
from apps.brokers.providers import checked_provider, login_command
from apps.brokers.selectors import token_get, token_set_from_row, token_status_of
from apps.brokers.tokens import (
    REFRESH_WARNING,
    RefreshTokenExpiredError,
    TokenRefreshBusyError,
    TokenSet,
    TokenStatus,
    TokenUpdate,
)
from apps.core import keys
from apps.core.clock import utc_now
from apps.core.redis import get_redis

log = structlog.get_logger(__name__)

# Refresh this long before the access token ends (schwab-py and authlib use 300 s too).
REFRESH_LEEWAY = timedelta(minutes=5)
# A refresh is one HTTP call; a lock held longer than this belongs to a process that died.
LOCK_TIMEOUT_SECONDS = 60.0
LOCK_WAIT_SECONDS = 90.0
# How often the expiring-refresh-token warning is logged again by one process.
WARNING_EVERY = timedelta(hours=1)
_last_warned: dict[tuple[str, str, str], datetime] = {}


def _encrypt_extra(extra: dict[str, Any] | None) -> str:
    return crypto.encrypt(json.dumps(extra, sort_keys=True)) if extra else ""


@transaction.atomic
def token_save(
    *,
    provider: str,
    account: str = "default",
    access_token: str,
    access_expires_at: datetime,
    refresh_token: str,
    refresh_expires_at: datetime | None,
    refresh_issued_at: datetime | None = None,
    extra: dict[str, Any] | None = None,
) -> TokenSet:
    """Store (or replace) an account's tokens after a login, encrypted with BROKER_TOKEN_KEY."""
    checked_provider(provider)
    keys.broker_refresh_lock(provider, account)  # validates the account's form
    row, _ = BrokerToken.objects.update_or_create(
        provider=provider,
        account=account,
        defaults={
            "access_token_encrypted": crypto.encrypt(access_token),
            "access_expires_at": access_expires_at,
            "refresh_token_encrypted": crypto.encrypt(refresh_token) if refresh_token else "",
            "refresh_expires_at": refresh_expires_at,
            "refresh_issued_at": refresh_issued_at or utc_now(),
            "extra_encrypted": _encrypt_extra(extra),
            "refreshes": 0,
            "refreshed_at": None,
        },
    )
    log.info(
        "broker_token.saved",
        provider=provider,
        account=account,
        access_expires_at=access_expires_at.isoformat(),
        refresh_expires_at=refresh_expires_at.isoformat() if refresh_expires_at else None,
    )
    return token_set_from_row(row)


def _apply_update(*, current: TokenSet, update: TokenUpdate) -> TokenSet:
    row = BrokerToken.objects.get(provider=current.provider, account=current.account)
    row.access_token_encrypted = crypto.encrypt(update.access_token)
    row.access_expires_at = update.access_expires_at
    if update.refresh_token is not None and update.refresh_token != current.refresh_token:
        row.refresh_token_encrypted = crypto.encrypt(update.refresh_token)
    if update.refresh_expires_at is not None:
        row.refresh_expires_at = update.refresh_expires_at
    if update.extra is not None:
        row.extra_encrypted = _encrypt_extra(update.extra)
    row.refreshes += 1
    row.refreshed_at = utc_now()
    row.save()
    return token_set_from_row(row)


def token_refresh_with_lock(
    *,
    provider: str,
    account: str = "default",
    refresh: Callable[[TokenSet], TokenUpdate],
    rejected_access_token: str | None = None,
    leeway: timedelta = REFRESH_LEEWAY,
) -> TokenSet:
    """The account's tokens with an access token good for more than `leeway`, refreshing them
    with `refresh(current)` if needed, under the account's refresh lock.

    `rejected_access_token`: the broker refused this access token although it had time left; it
    is refreshed unless another process already replaced it. A refresh token that has ended is
    a RefreshTokenExpiredError naming the login command, without calling `refresh`.
    """
    lock = get_redis().lock(
        keys.broker_refresh_lock(checked_provider(provider), account),
        timeout=LOCK_TIMEOUT_SECONDS,
        blocking_timeout=LOCK_WAIT_SECONDS,
    )
    try:
        acquired = lock.acquire()
    except redis.RedisError as error:
        raise TokenRefreshBusyError(f"cannot take the {provider} refresh lock: Redis: {error}") from None
    if not acquired:
        raise TokenRefreshBusyError(
            f"another process held the {provider}:{account} refresh lock for {LOCK_WAIT_SECONDS:g} s"
        )
    try:
        # Read again under the lock: the token another process refreshed meanwhile is the one to use.
        current = token_get(provider=provider, account=account)
        now = utc_now()
        replaced = rejected_access_token is not None and current.access_token != rejected_access_token
        if current.access_fresh(now=now, leeway=leeway) and (rejected_access_token is None or replaced):
            return current
        if current.refresh_ended(now=now):
            raise RefreshTokenExpiredError(
                f"the {provider} refresh token for account {account!r} ended at"
                f" {current.refresh_expires_at:%Y-%m-%d %H:%M} UTC; run: {login_command(provider)}",
                {"provider": provider, "account": account},
            )
        update = refresh(current)
        refreshed = _apply_update(current=current, update=update)
        log.info(
            "broker_token.refreshed",
            provider=provider,
            account=account,
            access_expires_at=refreshed.access_expires_at.isoformat(),
            refreshes=refreshed.refreshes,
        )
        token_expiry_report(provider=provider, account=account)
        return refreshed
    finally:
        try:
            lock.release()
        except redis.exceptions.LockError:
            log.warning("broker_token.lock_expired_while_refreshing", provider=provider, account=account)


def token_expiry_report(*, provider: str, account: str = "default") -> TokenStatus | None:
    """Set the time-left metrics of an account's tokens and log a warning (at most hourly per
    process) once its refresh token is within a day of its end, or past it. None without a token."""
    row = BrokerToken.objects.filter(provider=checked_provider(provider), account=account).first()
    if row is None:
        return None
    status = token_status_of(row)
    metrics.TOKEN_SECONDS_LEFT.labels(provider, account, "access").set(status.access_seconds_left)
    if status.refresh_seconds_left is not None:
        metrics.TOKEN_SECONDS_LEFT.labels(provider, account, "refresh").set(status.refresh_seconds_left)
    metrics.REFRESH_EXPIRING.labels(provider, account).set(
        1 if status.state in ("refresh_expiring", "refresh_expired") else 0
    )
    if status.state in ("refresh_expiring", "refresh_expired"):
        key = (provider, account, status.state)
        now = utc_now()
        if key not in _last_warned or now - _last_warned[key] >= WARNING_EVERY:
            _last_warned[key] = now
            log.warning(
                f"broker_token.{status.state}",
                provider=provider,
                account=account,
                refresh_expires_at=status.refresh_expires_at.isoformat() if status.refresh_expires_at else None,
                hours_left=round((status.refresh_seconds_left or 0) / 3600, 1),
                warning_hours=REFRESH_WARNING.total_seconds() / 3600,
                run=status.login_command,
            )
    return status


def token_delete(*, provider: str, account: str = "default") -> bool:
    deleted, _ = BrokerToken.objects.filter(provider=checked_provider(provider), account=account).delete()
    if deleted:
        log.info("broker_token.deleted", provider=provider, account=account)
    return bool(deleted)
