"""The Schwab streamer client: tokens from the store, user preferences, the streamer WebSocket.

One reader task owns the socket: `response` frames resolve the command waiting for them (one
command at a time, matched by requestid, service and command), everything else (data, heartbeats,
admin notices) goes to `receive()` for the runner, so heartbeats feed its watchdog. What each
response code means, and what is done about it (Streamer Guide):

- 3 LOGIN_DENIED: the access token is refreshed once and LOGIN tried again; refused again, the
  process stops naming `manage.py schwab_login` (no retry loop against a refusal).
- 11 SERVICE_NOT_AVAILABLE, 19 REACHED_SYMBOL_LIMIT, 21 BAD_COMMAND_FORMAT: that command failed,
  the connection is fine: logged (with the service and symbols), counted, not retried.
- 12 CLOSE_CONNECTION: another connection of this account took the session (one streamer per
  account). Reconnecting would take it back and start a fight: the process stops and says so.
- 20 STREAM_CONN_NOT_FOUND, 9 UNKNOWN_FAILURE, 30 STOP_STREAMING: the session is gone: reconnect
  (fresh preferences, LOGIN, subscriptions) through the runner's backoff, with a gap event.
- 22-25 FAILED_COMMAND_*: tried once more after a second, then logged.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

import msgspec
import structlog
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect

from apps.brokers.crypto import TokenKeyError
from apps.brokers.providers import login_command
from apps.brokers.services import token_expiry_report, token_refresh_refused, token_refresh_with_lock
from apps.brokers.tokens import RefreshTokenExpiredError, TokenMissingError, TokenRefreshBusyError
from apps.core.clock import utc_now
from apps.marketdata.events import Event
from apps.marketdata.symbols import (
    SymbolError,
    Venue,
    canonical,
    occ_option,
    parse_contract,
    to_schwab_option,
    to_venue,
)
from apps.monitoring import metrics
from streamers.config import StreamerConfigError
from streamers.feed import ConnectionLostError
from streamers.schwab import oauth
from streamers.schwab.bars import VendorBars
from streamers.schwab.config import SchwabConfig
from streamers.schwab.parsing import SchwabParser
from streamers.schwab.rest import SchwabRest, SchwabRestError, StreamerInfo

log = structlog.get_logger(__name__)

FUTURES_FIELDS = "0,1,2,3,4,5,8,9,10,11"
EQUITY_FIELDS = "0,1,2,3,4,5,8,9,34,35"
BOOK_FIELDS = "0,1,2,3"
CHART_FIELDS = "0,1,2,3,4,5,6,7,8"
SEVERED = {9, 20, 30}
COMMAND_FAILED = {22, 23, 24, 25}
NOT_RETRIED = {11, 19, 21}


class SchwabLoginError(StreamerConfigError):
    """Schwab refused the credentials or the login has ended: one line naming what to run or fix,
    and the process stops (a refused login is never retried)."""


class SessionTakenError(StreamerConfigError):
    """Code 12: another connection took this account's streamer session."""


class _Pending:
    def __init__(self, request_id: str, service: str, command: str) -> None:
        self.request_id, self.service, self.command = request_id, service, command
        self.future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()


_decoder = msgspec.json.Decoder()
_encoder = msgspec.json.Encoder()


def schwab_key(symbol: str) -> tuple[str, bool]:
    """Schwab's key for a canonical symbol, and whether it is a future."""
    try:
        parse_contract(symbol, reference=utc_now().date())
    except SymbolError:
        return symbol, False
    return to_venue(symbol, Venue.SCHWAB), True


class SchwabClient:
    name = "schwab"

    def __init__(self, *, config: SchwabConfig, redis_url: str) -> None:
        self.config = config
        self.redis_url = redis_url
        self.app = oauth.SchwabApp(api_url=config.api_url, app_key=config.app_key, app_secret=config.app_secret)
        self.rest = SchwabRest(api_url=config.api_url, access_token=self._access_token)
        self.parser = SchwabParser(canonical_of=lambda key: canonical(key, at=utc_now()))
        self._ws: ClientConnection | None = None
        self._info: StreamerInfo | None = None
        self._queue: asyncio.Queue[bytes | str | BaseException] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._pending: _Pending | None = None
        self._command_lock = asyncio.Lock()
        self._request_id = 0
        self._subscribed: dict[str, list[str]] = {}
        self._futures_keys: dict[str, str] = {}
        self.bars = VendorBars(redis_url=redis_url, feed=self.name, rest=self.rest)
        # The last data seen, and when the previous session ended: the back-fill's range.
        self.last_data_ms: int | None = None
        self.failed_commands: list[tuple[str, int, str]] = []

    # -- tokens ----------------------------------------------------------------------------

    def _refresh(self, current: Any) -> Any:
        return oauth.refresh(self.app, current.refresh_token)

    def _access_token(self, rejected: str | None) -> str:
        """A valid access token (sync; run on a worker thread). Stops the process on a login
        that cannot be used, naming what to run."""
        try:
            token = token_refresh_with_lock(
                provider="schwab", account=self.config.account, refresh=self._refresh, rejected_access_token=rejected
            )
        except oauth.SchwabAuthError as error:
            if error.login_needed:
                token_refresh_refused(provider="schwab", account=self.config.account)
            raise SchwabLoginError(str(error)) from None
        except (TokenMissingError, RefreshTokenExpiredError, TokenKeyError) as error:
            raise SchwabLoginError(str(error)) from None
        except TokenRefreshBusyError as error:
            raise ConnectionLostError(str(error)) from None
        finally:
            from django.db import connection

            connection.close()
        return token.access_token

    def _token_report(self) -> None:
        """Metrics and the log line of the refresh token's time left; a login that has ended
        stops the process, naming what to run."""
        from django.db import connection

        try:
            status = token_expiry_report(provider="schwab", account=self.config.account)
        finally:
            connection.close()
        if status is not None and status.state == "refresh_expired":
            raise SchwabLoginError(status.summary)

    async def _keep_token(self) -> None:
        """Refresh the access token before it ends (REST and reconnects need it), and report the
        refresh token's time left: a log line and a metric the day before it ends. Once it has
        ended the process stops, saying exactly what to run."""
        while True:
            await asyncio.sleep(self.config.token_check_interval)
            try:
                await asyncio.to_thread(self._token_report)
                await asyncio.to_thread(self._access_token, None)
            except SchwabLoginError as error:
                await self._queue.put(error)
                return
            except (ConnectionError, OSError) as error:
                log.warning("schwab.token_refresh_failed", error=str(error))

    # -- connection ------------------------------------------------------------------------

    async def connect(self) -> None:
        self.parser.reset_baselines()
        self._queue = asyncio.Queue()
        try:
            token = await asyncio.to_thread(self._access_token, None)
            self._info = await asyncio.to_thread(self.rest.streamer_info)
        except (SchwabRestError, oauth.SchwabRateLimitedError) as error:
            raise ConnectionLostError(str(error)) from None
        except ConnectionError as error:
            raise ConnectionLostError(str(error)) from None
        for attempt in (1, 2):
            await self._open_socket()
            response = await self._command("ADMIN", "LOGIN", self._login_parameters(token))
            code = int(response.get("code", -1))
            if code == 0:
                break
            await self._close_socket()
            if code == 3 and attempt == 1:
                log.warning("schwab.login_denied_refreshing", msg=str(response.get("msg", ""))[:200])
                token = await asyncio.to_thread(self._access_token, token)
                continue
            if code == 12:
                raise self._session_taken(str(response.get("msg", ""))[:200])
            if code == 3:
                raise SchwabLoginError(
                    f"Schwab refused the streamer login twice (code 3: {str(response.get('msg', ''))[:120]});"
                    f" run: {login_command('schwab')}"
                )
            raise ConnectionLostError(f"LOGIN failed with code {code}: {str(response.get('msg', ''))[:200]}")
        self._tasks.append(asyncio.create_task(self._keep_token(), name="schwab-token"))
        self._tasks.append(asyncio.create_task(self.bars.write_periodically(), name="schwab-bars"))
        await asyncio.to_thread(self._token_report)
        if self.last_data_ms is not None:
            backfill = self.bars.backfill(since_ms=self.last_data_ms, futures=dict(self._futures_keys))
            self._tasks.append(asyncio.create_task(backfill, name="schwab-backfill"))

    def _login_parameters(self, token: str) -> dict[str, str]:
        if self._info is None:
            raise ConnectionLostError("no streamer info yet")
        return {
            "Authorization": token,
            "SchwabClientChannel": self._info.channel,
            "SchwabClientFunctionId": self._info.function_id,
        }

    async def _open_socket(self) -> None:
        if self._info is None:
            raise ConnectionLostError("no streamer info yet")
        try:
            self._ws = await ws_connect(
                self._info.socket_url, open_timeout=10, close_timeout=2, max_size=16 * 2**20, ping_interval=20
            )
        except (OSError, websockets.WebSocketException, TimeoutError) as error:
            raise ConnectionLostError(f"cannot connect to the Schwab streamer: {error}") from None
        self._tasks.append(asyncio.create_task(self._read(self._ws), name="schwab-reader"))

    async def _close_socket(self) -> None:
        # Close while the reader still drains the socket: with nobody reading, the frames still
        # arriving fill the buffer, the server's close frame is never read and the close waits out
        # its timeout.
        if self._ws is not None:
            ws, self._ws = self._ws, None
            with contextlib.suppress(Exception):
                await ws.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        if self._pending is not None and not self._pending.future.done():
            self._pending.future.set_exception(ConnectionLostError("the Schwab connection closed"))

    # -- commands --------------------------------------------------------------------------

    async def _command(self, service: str, command: str, parameters: dict[str, str]) -> dict[str, Any]:
        """Send one command and wait for its response's content (serialized: Schwab fails
        parallel commands with code 22)."""
        if self._info is None:
            raise ConnectionLostError("no streamer info yet")
        async with self._command_lock:
            ws = self._ws
            if ws is None:
                raise ConnectionLostError("not connected")
            request_id = str(self._request_id)
            self._request_id += 1
            self._pending = _Pending(request_id, service, command)
            frame = {
                "requests": [
                    {
                        "service": service,
                        "command": command,
                        "requestid": request_id,
                        "SchwabClientCustomerId": self._info.customer_id,
                        "SchwabClientCorrelId": self._info.correl_id,
                        "parameters": parameters,
                    }
                ]
            }
            try:
                await ws.send(_encoder.encode(frame).decode())
                return await asyncio.wait_for(self._pending.future, timeout=self.config.response_timeout)
            except TimeoutError:
                raise ConnectionLostError(
                    f"no response to {service} {command} within {self.config.response_timeout:g} s"
                ) from None
            except websockets.WebSocketException as error:
                raise ConnectionLostError(f"sending {service} {command}: {error}") from None
            finally:
                self._pending = None

    async def _subscription(self, service: str, command: str, keys: list[str], fields: str) -> None:
        parameters = {"keys": ",".join(keys)} if command == "UNSUBS" else {"keys": ",".join(keys), "fields": fields}
        for attempt in (1, 2):
            content = await self._command(service, command, parameters)
            code = int(content.get("code", -1))
            if code == 0 or (command == "UNSUBS" and code in (0, 24)):
                return
            message = str(content.get("msg", ""))[:200]
            if code in COMMAND_FAILED and attempt == 1:
                await asyncio.sleep(1.0)
                continue
            if code in SEVERED:
                raise ConnectionLostError(f"{service} {command}: code {code} ({message})")
            self.failed_commands.append((service, code, message))
            log.error(
                "schwab.command_failed", service=service, command=command, code=code, msg=message, symbols=keys[:20]
            )
            return

    async def subscribe(self, symbols: Sequence[str]) -> None:
        futures: list[str] = []
        equities: list[str] = []
        options: list[str] = []
        for symbol in symbols:
            if occ_option(symbol) is not None:
                # An option's depth (OPTIONS_BOOK); its level one (LEVELONE_OPTIONS) is not read.
                options.append(to_schwab_option(symbol))
                continue
            key, is_future = schwab_key(symbol)
            (futures if is_future else equities).append(key)
        wanted: dict[str, tuple[list[str], str]] = {
            "LEVELONE_FUTURES": (futures, FUTURES_FIELDS),
            "CHART_FUTURES": (futures, CHART_FIELDS),
            "LEVELONE_EQUITIES": (equities, EQUITY_FIELDS),
            "OPTIONS_BOOK": (options, BOOK_FIELDS),
        }
        if self.config.equity_book != "none":
            wanted[self.config.equity_book] = (equities, BOOK_FIELDS)
        self._futures_keys = {key: canonical(key, at=utc_now()) for key in futures}
        for service, (keys, fields) in wanted.items():
            if keys and self._subscribed.get(service) != keys:
                # SUBS replaces the service's whole list: symbols dropped in the admin go with it.
                await self._subscription(service, "SUBS", keys, fields)
                self._subscribed[service] = keys
            elif not keys and self._subscribed.get(service):
                await self._subscription(service, "UNSUBS", self._subscribed[service], fields)
                self._subscribed[service] = []

    # -- reading ---------------------------------------------------------------------------

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                head = raw[:40]
                if ("response" in head) if isinstance(head, str) else (b"response" in head):
                    self._responses(raw)
                    continue
                if ("notify" in head) if isinstance(head, str) else (b"notify" in head):
                    self._notices(raw)
                    metrics.SCHWAB_FRAMES.labels("notify").inc()
                else:
                    metrics.SCHWAB_FRAMES.labels("data").inc()
                await self._queue.put(raw)
        except websockets.WebSocketException as error:
            if ws is self._ws:  # a socket we closed ourselves is no news for the runner
                await self._queue.put(ConnectionLostError(f"the Schwab streamer connection dropped: {error}"))
            return
        if ws is self._ws:
            await self._queue.put(ConnectionLostError("the Schwab streamer closed the connection"))

    def _responses(self, raw: bytes | str) -> None:
        metrics.SCHWAB_FRAMES.labels("response").inc()
        try:
            frame = _decoder.decode(raw)
            responses = frame["response"]
        except (msgspec.DecodeError, KeyError, TypeError):
            self._queue.put_nowait(raw)  # the parser dead-letters it
            return
        for response in responses:
            content = response.get("content") or {}
            code = int(content.get("code", -1))
            service = str(response.get("service", ""))
            metrics.SCHWAB_RESPONSE_CODES.labels(service, str(code)).inc()
            pending = self._pending
            if code == 12:
                self._queue.put_nowait(self._session_taken(str(content.get("msg", ""))))
            if (
                pending is not None
                and not pending.future.done()
                and str(response.get("requestid")) == pending.request_id
                and service == pending.service
                and response.get("command") == pending.command
            ):
                pending.future.set_result(content)
            elif code not in (0, 12):
                log.warning("schwab.unmatched_response", service=service, code=code, msg=str(content.get("msg"))[:200])

    def _notices(self, raw: bytes | str) -> None:
        try:
            notices = _decoder.decode(raw)["notify"]
        except (msgspec.DecodeError, KeyError, TypeError):
            return  # the parser dead-letters it
        for notice in notices if isinstance(notices, list) else []:
            content = notice.get("content") if isinstance(notice, dict) else None
            if not isinstance(content, dict) or "code" not in content:
                continue
            code, message = int(content["code"]), str(content.get("msg", ""))[:200]
            metrics.SCHWAB_RESPONSE_CODES.labels(str(notice.get("service", "")), str(code)).inc()
            if code == 12:
                self._queue.put_nowait(self._session_taken(message))
            elif code in SEVERED or code == 3:
                self._queue.put_nowait(ConnectionLostError(f"Schwab ended the session (code {code}: {message})"))

    def _session_taken(self, message: str) -> SessionTakenError:
        return SessionTakenError(
            f"Schwab closed this stream: another connection took the account's streamer session (code 12: {message})."
            " Schwab allows one streamer connection per account: stop the other streamer (or app), then run:"
            " python manage.py run_streamer schwab"
        )

    async def receive(self) -> bytes | str:
        item = await self._queue.get()
        if isinstance(item, BaseException):
            raise item
        return item

    def parse(self, raw: bytes | str, *, ts_recv: int) -> list[Event]:
        events = self.parser.parse(raw, ts_recv=ts_recv)
        if events:
            self.last_data_ms = ts_recv // 1_000_000
        bars = self.parser.take_bars()
        if bars:
            self.bars.add(bars)
            self.last_data_ms = ts_recv // 1_000_000
        return events

    async def close(self) -> None:
        await self._close_socket()
        await self.bars.close()
        self._subscribed = {}
