"""The tastytrade SDK's OAuth session (v13: client secret + refresh token), pointed at the
configured API root, kept in a store so that a restart reconnects without a new login, and its
failures sorted into "retry later" and "the credentials are wrong: stop and say which".

- The SDK builds its HTTP client with the production (or sandbox) root; `TASTYTRADE_API_URL`
  replaces it on every session this module makes, production included, so a local fake is
  configuration, not a patch (protocols.md section 2.3).
- The access token lives 15 minutes; `token_keep_fresh` refreshes it a minute before it ends, so
  it never lapses while the streamer runs, and stores each new one.
- The quote token (DXLink's, 24 hours) is kept with it: a restarted streamer with both still
  valid goes straight to the WebSocket.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx2
import structlog
from tastytrade import Session
from tastytrade.utils import TastytradeError

from apps.core.redaction import redact
from streamers.config import StreamerConfigError
from streamers.feed import ConnectionLostError
from streamers.tastytrade.config import TastytradeConfig

log = structlog.get_logger(__name__)

# The SDK refreshes when less than this is left (Session.refresh's own margin).
REFRESH_MARGIN = 60.0
# A quote token lives 24 h; a new one is fetched when less than this is left.
QUOTE_TOKEN_MARGIN = 3600.0
QUOTE_TOKEN_LIFETIME = 24 * 3600.0
# OAuth answers that mean the client secret or the refresh token is wrong, revoked or expired:
# retrying cannot help (and a login the server refused must not be retried).
REFUSED_STATUSES = frozenset({400, 401, 403})


class CredentialsRefusedError(StreamerConfigError):
    """tastytrade refused the client secret or the refresh token; one line naming what to fix."""


class SessionStore(Protocol):
    """Where the session's tokens are kept between runs (encrypted by the token store)."""

    def load(self) -> dict[str, Any] | None: ...

    def save(self, state: dict[str, Any]) -> None: ...


@dataclass
class QuoteToken:
    token: str
    dxlink_url: str
    level: str
    expires_at: float

    def fresh(self, now: float) -> bool:
        return now < self.expires_at - QUOTE_TOKEN_MARGIN


def grant_fingerprint(config: TastytradeConfig) -> str:
    """Which grant a stored session belongs to, without storing the refresh token itself: a new
    TASTYTRADE_REFRESH_TOKEN must not reuse the old grant's access token."""
    return hashlib.sha256(f"{config.api_url}\0{config.refresh_token}".encode()).hexdigest()[:24]


class TastytradeSession:
    """One SDK session for the life of the process; `ensure_fresh` before each use."""

    def __init__(self, config: TastytradeConfig, *, store: SessionStore | None = None) -> None:
        self.config = config
        self.store = store
        self.quote: QuoteToken | None = None
        self._last_status: dict[str, int] = {}
        self.sdk = self._new_sdk_session()
        self._loaded = False

    def _new_sdk_session(self) -> Session:
        async def remember_status(response: httpx2.Response) -> None:
            self._last_status[response.request.url.path] = response.status_code

        session = Session(
            provider_secret=self.config.client_secret,
            refresh_token=self.config.refresh_token,
            event_hooks={"response": [remember_status]},
            timeout=self.config.handshake_timeout,
        )
        # The SDK reads its root from a module constant; this is the root the process is configured for.
        session._client.base_url = httpx2.URL(self.config.api_url)
        return session

    @property
    def token_expires_at(self) -> float:
        return float(self.sdk.session_expiration)

    # -- the stored state ----------------------------------------------------------------------

    async def _load(self) -> None:
        if self._loaded or self.store is None:
            self._loaded = True
            return
        self._loaded = True
        try:
            state = await asyncio.to_thread(self.store.load)
        except StreamerConfigError:
            raise
        except Exception as error:  # noqa: BLE001 - without the store the session only logs in anew
            log.warning("tastytrade.session_not_restored", error=redact(f"{type(error).__name__}: {error}"))
            return
        if not state or state.get("grant") != grant_fingerprint(self.config):
            return
        now = time.time()
        if float(state.get("session_expiration", 0)) > now + REFRESH_MARGIN:
            self.sdk.session_token = str(state["session_token"])
            self.sdk.session_expiration = float(state["session_expiration"])
            self.sdk._client.headers["Authorization"] = f"Bearer {self.sdk.session_token}"
        quote = state.get("quote")
        if isinstance(quote, dict):
            stored = QuoteToken(**quote)
            if stored.fresh(now):
                self.quote = stored
        log.info(
            "tastytrade.session_restored", access_token=self.sdk.session_expiration > now, quote_token=bool(self.quote)
        )

    async def _save(self) -> None:
        if self.store is None:
            return
        state: dict[str, Any] = {
            "grant": grant_fingerprint(self.config),
            "session_token": self.sdk.session_token,
            "session_expiration": self.sdk.session_expiration,
            "quote": None if self.quote is None else self.quote.__dict__.copy(),
        }
        try:
            await asyncio.to_thread(self.store.save, state)
        except StreamerConfigError:
            raise
        except Exception as error:  # noqa: BLE001 - a store outage must not stop the feed
            log.warning("tastytrade.session_not_stored", error=redact(f"{type(error).__name__}: {error}"))

    # -- tokens --------------------------------------------------------------------------------

    async def ensure_fresh(self) -> None:
        """A valid access token (refreshed when under a minute is left), stored when new."""
        await self._load()
        if time.time() < self.sdk.session_expiration - REFRESH_MARGIN:
            return
        await self._call("/oauth/token", self.sdk.refresh)
        log.info("tastytrade.token_refreshed", expires_in=round(self.sdk.session_expiration - time.time()))
        await self._save()

    async def quote_token(self, *, renew: bool = False) -> QuoteToken:
        """DXLink's token and URL, from the store or `GET /api-quote-tokens`."""
        await self._load()
        if self.quote is not None and not renew and self.quote.fresh(time.time()):
            return self.quote
        await self.ensure_fresh()
        data = await self._call("/api-quote-tokens", lambda: self.sdk._get("/api-quote-tokens"))
        try:
            self.quote = QuoteToken(
                token=str(data["token"]),
                dxlink_url=str(data["dxlink-url"]),
                level=str(data.get("level", "")),
                expires_at=time.time() + QUOTE_TOKEN_LIFETIME,
            )
        except (KeyError, TypeError) as error:
            raise ConnectionLostError(f"GET /api-quote-tokens answered without {error}") from None
        await self._save()
        return self.quote

    def forget_quote_token(self) -> None:
        self.quote = None

    async def keep_fresh(self, *, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        """Refresh the access token a minute before it ends, for as long as it runs. Raises
        CredentialsRefusedError when the grant is refused (the caller stops the process); a
        failure worth retrying is logged and tried again after a pause."""
        while True:
            await sleep(max(1.0, self.sdk.session_expiration - REFRESH_MARGIN - time.time() + 1))
            try:
                await self.ensure_fresh()
            except ConnectionLostError as error:
                log.warning("tastytrade.token_refresh_failed", error=redact(str(error)))
                await sleep(5.0)

    async def _call(self, path: str, request: Callable[[], Awaitable[Any]]) -> Any:
        self._last_status.pop(path, None)
        try:
            return await request()
        except TastytradeError as error:
            status = self._last_status.get(path)
            reason = redact(str(error).strip()) or f"HTTP {status}"
            if path == "/oauth/token" and status in REFUSED_STATUSES:
                raise CredentialsRefusedError(
                    f"tastytrade refused TASTYTRADE_REFRESH_TOKEN / TASTYTRADE_CLIENT_SECRET ({reason}):"
                    " check the client secret, or create a new grant and set TASTYTRADE_REFRESH_TOKEN"
                ) from None
            if path == "/api-quote-tokens" and status == 403:
                raise CredentialsRefusedError(
                    f"tastytrade refused a quote token to this login ({reason}): the account behind"
                    " TASTYTRADE_REFRESH_TOKEN must be a customer account with market data"
                ) from None
            raise ConnectionLostError(f"{path} failed (HTTP {status}): {reason}") from None
        except (httpx2.TransportError, OSError) as error:
            raise ConnectionLostError(f"{path}: {type(error).__name__}: {redact(str(error))}") from None
