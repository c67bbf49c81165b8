"""The tastytrade session in the platform's token store (apps/brokers): the access token and the
quote token, encrypted with BROKER_TOKEN_KEY, so a restarted streamer goes straight to DXLink.

The refresh token itself stays where the trader put it (TASTYTRADE_REFRESH_TOKEN; tastytrade's do
not expire and are not rotated by a refresh), so none is stored; the grant's fingerprint is, and
a session stored for another grant is ignored. Called on a worker thread (`asyncio.to_thread`):
it reads and writes the database.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from apps.brokers import crypto
from apps.brokers.crypto import TokenKeyError
from apps.brokers.selectors import token_get
from apps.brokers.services import token_expiry_report, token_save
from apps.brokers.tokens import TokenMissingError
from streamers.config import StreamerConfigError

PROVIDER = "tastytrade"


class BrokerTokenSessionStore:
    """A missing, malformed or wrong BROKER_TOKEN_KEY is a StreamerConfigError naming it: the
    streamer stops with that one line (checked once before any connection by `check_key`)."""

    def __init__(self, *, account: str = "default") -> None:
        self.account = account

    @staticmethod
    def check_key() -> None:
        try:
            crypto.encrypt("")
        except TokenKeyError as error:
            raise StreamerConfigError(str(error)) from None

    def load(self) -> dict[str, Any] | None:
        from django.db import connection

        try:
            tokens = token_get(provider=PROVIDER, account=self.account)
        except TokenMissingError:
            return None
        except TokenKeyError as error:
            raise StreamerConfigError(str(error)) from None
        finally:
            connection.close()
        return {
            **tokens.extra,
            "session_token": tokens.access_token,
            "session_expiration": tokens.access_expires_at.timestamp(),
        }

    def save(self, state: dict[str, Any]) -> None:
        from django.db import connection

        extra = {key: value for key, value in state.items() if key not in ("session_token", "session_expiration")}
        try:
            token_save(
                provider=PROVIDER,
                account=self.account,
                access_token=str(state["session_token"]),
                access_expires_at=datetime.fromtimestamp(float(state["session_expiration"]), tz=UTC),
                refresh_token="",
                refresh_expires_at=None,
                extra=extra,
            )
            token_expiry_report(provider=PROVIDER, account=self.account)
        except TokenKeyError as error:
            raise StreamerConfigError(str(error)) from None
        finally:
            connection.close()
