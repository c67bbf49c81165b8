"""The GEXBot v2 API as a GEXDataSource: httpx with retries, a circuit breaker and metrics.

- Requests carry `Authorization: Bearer gexbot_custom_...`, a `User-Agent` and
  `Accept: application/json` (../shared/reference/gex_scid.md §1.1). Nothing opens a socket until
  the first call; `close()` (or `with`) releases the connections.
- 429, 5xx and transport errors (timeouts included) are retried with exponential backoff and
  jitter. A `Retry-After` (seconds or an HTTP date) is waited out exactly; one longer than the
  backoff cap is not waited at all: the call fails at once and the poller's next turn asks again,
  rather than knocking before the server said to.
- The circuit breaker (pybreaker) counts calls that failed after their retries because the API
  was unavailable (transport errors, 429, 5xx) or refused the key (401); 400/403/404 name a
  problem with one request and don't count. After `breaker_fail_max` such calls in a row it opens:
  calls raise GEXSourceUnavailable without a request, and `pipeline_gex_polls_skipped_total
  {reason="breaker_open"}` counts them; after `breaker_reset_seconds` one trial call goes through
  and closes it on success.
- The breaker's state lives in Redis (pybreaker's CircuitRedisStorage under
  `keys.gex_breaker("gexbot")`), so every Celery worker sees the same breaker: one worker's
  failures stop all of them hammering the API. That storage keeps `opened_at` in whole seconds,
  so the breaker may half-open up to a second before `breaker_reset_seconds`; and if Redis itself
  fails it falls back to "closed" (the API is called rather than polling stopped).
  `shared_breaker=False` keeps the state in the process instead. pybreaker holds a lock for the
  length of a call, so threads that poll concurrently should each have their own source (the
  state is shared through Redis all the same).
- A body that is not the documented shape raises GEXPayloadError (from apps/gex/parsing.py),
  logged once with the URL and a sample of the body, counted, never retried, and it does not
  count against the breaker (the API answered).
- History: `/hist/...?noredirect` returns a presigned URL, downloaded with a client that has no
  Authorization header at all (the key must never reach the storage host).
"""

from __future__ import annotations

import os
import re
import threading
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import httpx
import orjson
import pybreaker
import structlog
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from apps.core import keys
from apps.core.clock import utc_now
from apps.core.redaction import redact
from apps.gex.config import GEXBotConfig
from apps.gex.parsing import (
    is_greek_category,
    parse_chain,
    parse_history,
    parse_majors,
    parse_maxchange,
    parse_tickers,
)
from apps.gex.snapshots import CATEGORIES, GEXMajors, GEXMaxChange, GEXSnapshot, category_canonical
from apps.gex.sources import GEXPayloadError, GEXSourceError, GEXSourceUnavailable
from apps.monitoring import metrics

if TYPE_CHECKING:
    from collections.abc import Callable

    import redis

log = structlog.get_logger(__name__)

BREAKER_NAME = "gexbot"
PACKAGES = ("classic", "state")
_TICKER = re.compile(r"^[A-Z0-9][A-Z0-9_]{0,31}$")
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_BODY_SAMPLE = 300

T = TypeVar("T")


class GEXBotHTTPError(GEXSourceError):
    """GEXBot (or the history storage) did not answer 200; `status` is None when nothing came back."""

    def __init__(
        self,
        message: str,
        *,
        url: str,
        status: int | None,
        retryable: bool,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.url = url
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after

    @property
    def outage(self) -> bool:
        """Counts against the breaker: the API is down, throttling us, or refusing the key."""
        return self.retryable or self.status == 401


def retry_after_seconds(value: str | None, *, now: datetime) -> float | None:
    """Seconds a `Retry-After` header asks to wait (delta-seconds or an HTTP date); None if absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:  # RFC 9110 dates are GMT
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - now).total_seconds())


def shown_url(url: str) -> str:
    """`url` fit for logs and error messages: a presigned URL's signed query is a credential, so it is cut."""
    base, _, query = url.partition("?")
    return url if query in ("", "noredirect") else f"{base}?(signed query hidden)"


def _vendor_error(response: httpx.Response) -> str:
    """The `{"error": ...}` GEXBot puts in error bodies, else a sample of the body."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = None
    if isinstance(body, dict) and "error" in body:
        return str(body["error"])
    sample = response.content[:_BODY_SAMPLE].decode("utf-8", errors="replace").strip()
    return sample or "(empty body)"


def _is_outage(error: BaseException) -> bool:
    return isinstance(error, GEXBotHTTPError) and error.outage


class _BreakerLog(pybreaker.CircuitBreakerListener):
    def state_change(self, cb: pybreaker.CircuitBreaker, old_state: Any, new_state: Any) -> None:
        old = old_state.name if old_state is not None else None
        log.warning("gexbot.breaker_state", breaker=cb.name, old=old, new=new_state.name)


class GEXBotAPISource:
    """GEXBot's REST API as a GEXDataSource."""

    name = "gexbot"

    def __init__(
        self, config: GEXBotConfig, *, redis_client: redis.Redis | None = None, shared_breaker: bool = True
    ) -> None:
        self.config = config
        self._redis = redis_client
        self._shared_breaker = shared_breaker
        self._lock = threading.Lock()
        self._api: httpx.Client | None = None
        self._downloads: httpx.Client | None = None
        self._breaker: pybreaker.CircuitBreaker | None = None
        self._pid = os.getpid()

    def _after_fork(self) -> None:
        # A forked worker child must not share its parent's sockets (httpx pools, the Redis
        # client held by the breaker's storage): start afresh in the child. Called under the lock.
        if self._pid != os.getpid():
            self._api = self._downloads = None
            self._breaker = None
            self._pid = os.getpid()

    # Resources, created on first use
    def _api_client(self) -> httpx.Client:
        with self._lock:
            self._after_fork()
            if self._api is None:
                self._api = httpx.Client(
                    timeout=httpx.Timeout(self.config.timeout_seconds),
                    headers={
                        "Authorization": f"Bearer {self.config.api_key}",
                        "User-Agent": self.config.user_agent,
                        "Accept": "application/json",
                    },
                    follow_redirects=False,
                )
            return self._api

    def _download_client(self) -> httpx.Client:
        with self._lock:
            self._after_fork()
            if self._downloads is None:
                # A separate client with no Authorization header: presigned URLs must never see the key.
                self._downloads = httpx.Client(
                    timeout=httpx.Timeout(self.config.timeout_seconds, read=self.config.download_timeout_seconds),
                    headers={"User-Agent": self.config.user_agent, "Accept-Encoding": "gzip"},
                    follow_redirects=True,
                )
            return self._downloads

    @property
    def breaker(self) -> pybreaker.CircuitBreaker:
        with self._lock:
            self._after_fork()
            if self._breaker is None:
                storage: pybreaker.CircuitBreakerStorage | None = None
                if self._shared_breaker:
                    from apps.core.redis import get_redis

                    storage = pybreaker.CircuitRedisStorage(
                        pybreaker.STATE_CLOSED,
                        self._redis if self._redis is not None else get_redis(),
                        namespace=keys.gex_breaker(BREAKER_NAME),
                    )
                self._breaker = pybreaker.CircuitBreaker(
                    fail_max=self.config.breaker_fail_max,
                    reset_timeout=self.config.breaker_reset_seconds,
                    exclude=[lambda error: not _is_outage(error)],
                    listeners=[_BreakerLog()],
                    state_storage=storage,
                    name=BREAKER_NAME,
                    # The call that trips the breaker raises its own error, which says what failed.
                    throw_new_error_on_trip=False,
                )
            return self._breaker

    def breaker_state(self) -> str:
        """`closed`, `open` or `half-open`, as every worker sees it."""
        return str(self.breaker.current_state)

    def close(self) -> None:
        with self._lock:
            for client in (self._api, self._downloads):
                if client is not None:
                    client.close()
            self._api = self._downloads = None

    def __enter__(self) -> GEXBotAPISource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # GEXDataSource
    def tickers(self) -> list[str]:
        return self._fetch("tickers", "/tickers", parse_tickers)

    def chain(self, *, ticker: str, package: str, category: str) -> GEXSnapshot:
        category = self._check(ticker=ticker, package=package, category=category)
        return self._fetch(
            "chain",
            f"/{ticker}/{package}/{category}",
            lambda data: parse_chain(data, ticker=ticker, package=package, category=category),
        )

    def majors(self, *, ticker: str, package: str, category: str) -> GEXMajors:
        category = self._check(ticker=ticker, package=package, category=category, gex_only=True)
        return self._fetch(
            "majors",
            f"/{ticker}/{package}/{category}/majors",
            lambda data: parse_majors(data, ticker=ticker, package=package, category=category),
        )

    def maxchange(self, *, ticker: str, package: str, category: str) -> GEXMaxChange:
        category = self._check(ticker=ticker, package=package, category=category, gex_only=True)
        return self._fetch(
            "maxchange",
            f"/{ticker}/{package}/{category}/maxchange",
            lambda data: parse_maxchange(data, ticker=ticker, package=package, category=category),
        )

    # History (Quant subscriptions; a 90-day look-back)
    def history(self, *, ticker: str, package: str, category: str, day: date) -> list[GEXSnapshot]:
        """Every snapshot GEXBot kept for one day: ask for the presigned URL, then download it."""
        category = self._check(ticker=ticker, package=package, category=category)
        url = f"{self.config.base_url}/hist/{ticker}/{package}/{category}/{day.isoformat()}?noredirect"
        response = self._api_get("hist", url, redirect_ok=True)
        if response.status_code in _REDIRECTS:
            location = response.headers.get("Location", "")
        else:
            try:
                body = orjson.loads(response.content)
            except orjson.JSONDecodeError:
                body = None
            location = body.get("url") if isinstance(body, dict) else None
            if not isinstance(location, str):
                self._payload_failed("hist", url, response.content, GEXPayloadError("url: expected the presigned URL"))
        if not location.startswith(("https://", "http://")):
            error = GEXPayloadError(f"url: expected an http(s) URL, got {shown_url(location)[:80]!r}")
            self._payload_failed("hist", url, response.content, error)
        return self.history_download(url=location, ticker=ticker, package=package, category=category)

    def history_download(self, *, url: str, ticker: str, package: str, category: str) -> list[GEXSnapshot]:
        """Download a history file from `url` (a presigned URL: sent without the API key) and parse it."""
        if not url.startswith(("https://", "http://")):
            raise ValueError(f"history url {shown_url(url)[:80]!r} is not an http(s) URL")
        category = category_canonical(category)
        # Not behind the breaker: the file comes from the storage host, not from the API.
        response = self._get_with_retries("hist_download", url, self._download_client(), redirect_ok=False)
        try:
            return list(parse_history(response.content, ticker=ticker, package=package, category=category))
        except GEXPayloadError as error:
            self._payload_failed("hist_download", url, response.content, error)

    # Internals
    def _check(self, *, ticker: str, package: str, category: str, gex_only: bool = False) -> str:
        if not _TICKER.match(ticker):
            raise ValueError(f"ticker {ticker!r} is not a GEXBot ticker name (upper-case, e.g. SPX or ES_SPX)")
        if package not in PACKAGES:
            raise ValueError(f"package {package!r} is not one of {', '.join(PACKAGES)}")
        category = category_canonical(category)
        greek_ok = package == "state" and not gex_only
        if category not in CATEGORIES and not (greek_ok and is_greek_category(category)):
            allowed = ", ".join(CATEGORIES) + (" or a greek category (gamma_zero, ...)" if greek_ok else "")
            raise ValueError(f"category {category!r} is not served for {package}: use {allowed}")
        return category

    def _fetch(self, endpoint: str, path: str, parse: Callable[[bytes], T]) -> T:
        url = f"{self.config.base_url}{path}"
        response = self._api_get(endpoint, url, redirect_ok=False)
        try:
            return parse(response.content)
        except GEXPayloadError as error:
            self._payload_failed(endpoint, url, response.content, error)

    def _payload_failed(self, endpoint: str, url: str, body: bytes, error: GEXPayloadError) -> NoReturn:
        metrics.GEXBOT_PAYLOAD_ERRORS.labels(endpoint=endpoint).inc()
        # A history link's body is itself a presigned URL.
        sample = redact(body[:_BODY_SAMPLE].decode("utf-8", errors="replace"))
        shown = shown_url(url)
        log.warning("gexbot.payload_error", url=shown, error=str(error), body_sample=sample, body_bytes=len(body))
        raise GEXPayloadError(f"{shown}: {error}") from None

    def _api_get(self, endpoint: str, url: str, *, redirect_ok: bool) -> httpx.Response:
        try:
            return self.breaker.call(self._get_with_retries, endpoint, url, self._api_client(), redirect_ok=redirect_ok)
        except pybreaker.CircuitBreakerError:
            metrics.GEX_POLLS_SKIPPED.labels(reason="breaker_open").inc()
            raise GEXSourceUnavailable(
                f"GEXBot circuit breaker is open after {self.config.breaker_fail_max} failed calls in a row; "
                f"{url} was not requested (a trial call goes through {self.config.breaker_reset_seconds:g} s "
                "after it opened)"
            ) from None

    def _retryable(self, error: BaseException) -> bool:
        if not isinstance(error, GEXBotHTTPError) or not error.retryable:
            return False
        return error.retry_after is None or error.retry_after <= self.config.backoff_cap_seconds

    def _get_with_retries(self, endpoint: str, url: str, client: httpx.Client, *, redirect_ok: bool) -> httpx.Response:
        config = self.config
        shown = shown_url(url)
        backoff = wait_exponential_jitter(
            multiplier=config.backoff_base_seconds, max=config.backoff_cap_seconds, jitter=config.backoff_base_seconds
        )

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome is not None else None
            if isinstance(error, GEXBotHTTPError) and error.retry_after is not None:
                return error.retry_after
            return float(backoff(state))

        def before_sleep(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome is not None else None
            wait_seconds = state.next_action.sleep if state.next_action is not None else None
            log.info(
                "gexbot.retry",
                url=shown,
                attempt=state.attempt_number,
                wait_seconds=wait_seconds,
                error=redact(str(error)),
            )

        retrying = Retrying(
            retry=retry_if_exception(self._retryable),
            wait=wait,
            stop=stop_after_attempt(config.retries + 1),
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            return retrying(self._get_once, endpoint, url, client, redirect_ok=redirect_ok)
        except GEXBotHTTPError as error:
            attempts = int(retrying.statistics.get("attempt_number", 1))
            if attempts > 1:
                error.args = (f"{error} (gave up after {attempts} attempts)",)
            raise

    def _get_once(self, endpoint: str, url: str, client: httpx.Client, *, redirect_ok: bool) -> httpx.Response:
        shown = shown_url(url)
        # The presigned history files are served by a storage host, not by the API.
        who = "the GEXBot history file host" if endpoint == "hist_download" else "GEXBot"
        try:
            response = client.get(url)
        except httpx.RequestError as error:
            metrics.GEXBOT_REQUESTS.labels(endpoint=endpoint, status="error").inc()
            raise GEXBotHTTPError(
                f"{who} did not answer {shown} ({type(error).__name__}: {str(error) or 'no detail'})",
                url=url,
                status=None,
                retryable=isinstance(error, httpx.TransportError),
            ) from error
        status = response.status_code
        metrics.GEXBOT_REQUESTS.labels(endpoint=endpoint, status=str(status)).inc()
        if status == 200 or (redirect_ok and status in _REDIRECTS and "Location" in response.headers):
            return response
        vendor = _vendor_error(response)
        retry_after = retry_after_seconds(response.headers.get("Retry-After"), now=utc_now())
        if status == 401:
            message = (
                f"GEXBot refused the API key (401) for {shown}: {vendor}; check GEXBOT_API_KEY "
                "(the whole token, gexbot_custom_ prefix included)"
            )
        elif status == 403:
            hint = (
                "the presigned URL may have expired: ask for a new one"
                if endpoint == "hist_download"
                else "the subscription may not include this data"
            )
            message = f"{who} denied access (403) to {shown}: {vendor}; {hint}"
        elif status == 429:
            message = f"GEXBot rate-limited (429) {shown}: {vendor}"
        else:
            message = f"{who} answered {status} for {shown}: {vendor}"
        retryable = status == 429 or status >= 500
        if retryable and retry_after is not None and retry_after > self.config.backoff_cap_seconds:
            message += (
                f" (it asked to retry after {retry_after:g} s, more than the "
                f"{self.config.backoff_cap_seconds:g} s cap: not retried)"
            )
        raise GEXBotHTTPError(message, url=url, status=status, retryable=retryable, retry_after=retry_after)
