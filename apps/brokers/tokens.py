"""The token store's values: decrypted tokens (secrets kept out of repr), updates, status rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from apps.core.exceptions import ApplicationError, NotFoundError

# Within this of its end a refresh token is reported (health, log line, metric).
REFRESH_WARNING = timedelta(hours=24)

TokenState = Literal["ok", "access_expired", "refresh_expiring", "refresh_expired"]


class TokenMissingError(NotFoundError):
    """No token is stored for a provider and account; the message says how to log in."""


class TokenRefreshBusyError(ApplicationError):
    """Another process held the refresh lock for longer than a refresh can take."""


class RefreshTokenExpiredError(ApplicationError):
    """The refresh token has ended (or the broker refused it): only a new login helps; the
    message says exactly what to run."""


@dataclass(frozen=True)
class TokenSet:
    provider: str
    account: str
    access_token: str = field(repr=False)
    access_expires_at: datetime
    refresh_token: str = field(repr=False)
    refresh_expires_at: datetime | None
    refresh_issued_at: datetime | None
    extra: dict[str, Any] = field(default_factory=dict, repr=False)
    refreshes: int = 0

    def access_fresh(self, *, now: datetime, leeway: timedelta) -> bool:
        return self.access_expires_at - now > leeway

    def refresh_ended(self, *, now: datetime) -> bool:
        return self.refresh_expires_at is not None and self.refresh_expires_at <= now


@dataclass(frozen=True)
class TokenUpdate:
    """What a refresh returns: a new access token, and the refresh token if the broker sent one.
    A refresh that leaves `refresh_expires_at` None keeps the stored end (Schwab does not extend it)."""

    access_token: str = field(repr=False)
    access_expires_at: datetime
    refresh_token: str | None = field(default=None, repr=False)
    refresh_expires_at: datetime | None = None
    extra: dict[str, Any] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class TokenStatus:
    """A token's state without its secrets: what the admin, `manage.py tokens` and health show."""

    provider: str
    account: str
    access_expires_at: datetime
    access_seconds_left: float
    refresh_expires_at: datetime | None
    refresh_seconds_left: float | None
    refreshes: int
    refreshed_at: datetime | None
    state: TokenState
    login_command: str

    @property
    def summary(self) -> str:
        if self.state == "refresh_expired":
            return (
                f"{self.provider}:{self.account} refresh token ended at"
                f" {self.refresh_expires_at:%Y-%m-%d %H:%M} UTC; run: {self.login_command}"
            )
        if self.state == "refresh_expiring" and self.refresh_seconds_left is not None:
            hours = self.refresh_seconds_left / 3600
            return (
                f"{self.provider}:{self.account} refresh token ends in {hours:.1f} h"
                f" ({self.refresh_expires_at:%Y-%m-%d %H:%M} UTC); run: {self.login_command}"
            )
        ends = "never" if self.refresh_expires_at is None else f"{self.refresh_expires_at:%Y-%m-%d %H:%M} UTC"
        return f"{self.provider}:{self.account} ok; refresh token ends {ends}"
