"""A faithful fake of the GEXBot v2 REST API, over real HTTP on 127.0.0.1.

It serves the vendor's documented payloads (tests/fakes/gexbot_payloads/, the official chain
example verbatim), checks what the real API checks (a `User-Agent`, `Accept`, and
`Authorization: Bearer gexbot_custom_...` except on the public `/tickers`), answers errors as
`{"error": "..."}`, and implements the history flow: `/v2/hist/...` hands out a presigned URL (a
302, or `{"url": ...}` with `?noredirect`) that points back at this server under `/presigned/`,
where, like S3, a request that also carries an Authorization header is refused.

Every request is recorded (path, headers, arrival time) so tests can assert on what the client
sent and when. Tests script failures on demand: 429 with Retry-After, 5xx, slow answers,
malformed bodies, or a whole outage.

    with FakeGEXBot() as fake:
        fake.rate_limit(times=1, retry_after="1")
        ... GEXBotConfig(api_key=FAKE_API_KEY, base_url=fake.base_url) ...
        assert len(fake.requests_to("/v2/SPX/")) == 2

For a demo: `python -m tests.fakes.gexbot --port 8765 [--auto-advance]` serves until interrupted.
"""

from __future__ import annotations

import argparse
import gzip
import json
import secrets
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

PAYLOADS = Path(__file__).resolve().parent / "gexbot_payloads"
FAKE_API_KEY = "gexbot_custom_fake-secret-0123456789"
HISTORY_FILE = "history_SPX_classic_gex_full.json"
# The trading day the history fixture was recorded on; other days are served shifted to their date.
HISTORY_DAY = date(2026, 4, 29)

CLASSIC_CATEGORIES = {"full": "gex_full", "gex_full": "gex_full", "zero": "gex_zero", "gex_zero": "gex_zero"}
CLASSIC_CATEGORIES |= {"one": "gex_one", "gex_one": "gex_one"}
GREEK_CATEGORIES = {
    f"{greek}_{expiry}" for greek in ("delta", "gamma", "vanna", "charm") for expiry in ("zero", "one")
} | {"delta", "gamma", "vanna", "charm", "onedelta", "onegamma", "onevanna", "onecharm"}


def payload(name: str) -> bytes:
    return (PAYLOADS / name).read_bytes()


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: str
    # Header names lower-cased; a repeated header keeps its last value.
    headers: dict[str, str]
    # time.monotonic() when the request line arrived, for ordering and gap assertions.
    received_at: float
    status: int | None = None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class _Script:
    remaining: int
    path_prefix: str
    # None: answer normally (after the delay).
    status: int | None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        self.server.fake._handle(self)

    def log_message(self, format: str, *args: Any) -> None:
        return

    def answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            merged = {"Content-Type": "application/json"} | (headers or {})
            for name, value in merged.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (its timeout ran out while a slow answer was scripted).
            self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeGEXBot


def _error(message: str) -> bytes:
    return json.dumps({"error": message}).encode()


class FakeGEXBot:
    """The fake server; `start()` (or `with`) binds an ephemeral port and serves from a thread."""

    def __init__(
        self, *, api_key: str = FAKE_API_KEY, host: str = "127.0.0.1", port: int = 0, auto_advance: bool = False
    ) -> None:
        self.api_key = api_key
        self.host = host
        self.port = port
        # Each answered chain/majors/maxchange moves the clock one second on, like the live API.
        self.auto_advance = auto_advance
        self.timestamp: int = json.loads(payload("classic_chain.json"))["timestamp"]
        self._base_timestamp = self.timestamp
        self._tickers: dict[str, list[str]] = json.loads(payload("tickers.json"))
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._scripts: list[_Script] = []
        self._outage: int | None = None
        self._presigned: dict[str, tuple[str, str, str, date]] = {}
        self.history_files: dict[tuple[str, str, str, date], bytes] = {}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # Lifecycle
    def start(self) -> FakeGEXBot:
        server = _Server((self.host, self.port), _Handler)
        server.fake = self
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-gexbot", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeGEXBot:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/v2"

    # What tests ask for
    def advance(self, seconds: int = 1) -> int:
        """Move the snapshots' clock on; returns the new timestamp."""
        with self._lock:
            self.timestamp += seconds
            return self.timestamp

    def respond(
        self,
        *,
        times: int = 1,
        status: int | None,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        path_prefix: str = "/v2/",
    ) -> None:
        """The next `times` requests under `path_prefix` get this answer (status None: the normal one)."""
        with self._lock:
            self._scripts.append(_Script(times, path_prefix, status, body, dict(headers or {}), delay))

    def rate_limit(self, *, times: int = 1, retry_after: str | None = "1", path_prefix: str = "/v2/") -> None:
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        self.respond(
            times=times, status=429, body=_error("Too many requests"), headers=headers, path_prefix=path_prefix
        )

    def fail(self, *, times: int = 1, status: int = 503, path_prefix: str = "/v2/") -> None:
        self.respond(times=times, status=status, body=_error("Service unavailable"), path_prefix=path_prefix)

    def malformed(
        self, *, times: int = 1, body: bytes = b'{"timestamp": 1777492800, "spot": 71', path_prefix: str = "/v2/"
    ) -> None:
        self.respond(times=times, status=200, body=body, path_prefix=path_prefix)

    def slow(self, *, times: int = 1, seconds: float, path_prefix: str = "/v2/") -> None:
        self.respond(times=times, status=None, delay=seconds, path_prefix=path_prefix)

    def go_down(self, *, status: int = 503) -> None:
        """Every API request fails with `status` until `come_back()`."""
        with self._lock:
            self._outage = status

    def come_back(self) -> None:
        with self._lock:
            self._outage = None

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_to(self, path_prefix: str) -> list[RecordedRequest]:
        return [request for request in self.requests if request.path.startswith(path_prefix)]

    # Serving
    def _handle(self, handler: _Handler) -> None:
        parts = urlsplit(handler.path)
        request = RecordedRequest(
            method=handler.command,
            path=parts.path,
            query=parts.query,
            headers={name.lower(): value for name, value in handler.headers.items()},
            received_at=time.monotonic(),
        )
        with self._lock:
            self._requests.append(request)
        status, body, headers = self._answer(request)
        request.status = status
        handler.answer(status, body, headers)

    def _take_script(self, path: str) -> _Script | None:
        with self._lock:
            for script in self._scripts:
                if path.startswith(script.path_prefix):
                    script.remaining -= 1
                    if script.remaining <= 0:
                        self._scripts.remove(script)
                    return script
        return None

    def _answer(self, request: RecordedRequest) -> tuple[int, bytes, dict[str, str]]:
        if request.path.startswith("/presigned/"):
            return self._presigned_download(request)
        route = request.path.removeprefix("/v2").strip("/").split("/")
        # Refused requests never reach a scripted answer, as on the real API.
        early = self._refusal(request, public=route == ["tickers"]) or self._scripted(request.path)
        if early is not None:
            return early
        with self._lock:
            outage = self._outage
        if outage is not None:
            return outage, _error("Service unavailable"), {}
        if route == ["tickers"]:
            return 200, payload("tickers.json"), {}
        if route[0] == "hist":
            return self._history_link(route[1:], request)
        return self._data(route)

    def _refusal(self, request: RecordedRequest, *, public: bool) -> tuple[int, bytes, dict[str, str]] | None:
        """What the real API checks before anything else: the path, the required headers, the key."""
        problem: tuple[int, str] | None = None
        if not request.path.startswith("/v2/"):
            problem = (404, "Not found")
        elif not request.header("User-Agent"):
            problem = (400, "User-Agent header is required: identify your client application")
        elif not request.header("Accept"):
            problem = (400, "Accept header is required")
        elif not public and request.header("Authorization") != f"Bearer {self.api_key}":
            problem = (401, "Unauthorized: invalid or missing API key")
        return None if problem is None else (problem[0], _error(problem[1]), {})

    def _scripted(self, path: str) -> tuple[int, bytes, dict[str, str]] | None:
        script = self._take_script(path)
        if script is None:
            return None
        if script.delay:
            time.sleep(script.delay)
        return None if script.status is None else (script.status, script.body, script.headers)

    def _known(self, ticker: str) -> bool:
        return any(ticker in names for names in self._tickers.values())

    def _data(self, route: list[str]) -> tuple[int, bytes, dict[str, str]]:
        if len(route) not in (3, 4) or (len(route) == 4 and route[3] not in ("majors", "maxchange")):
            return 404, _error("Not found"), {}
        ticker, package, category = route[:3]
        endpoint = route[3] if len(route) == 4 else "chain"
        if not self._known(ticker):
            return 404, _error(f"Ticker {ticker} not found"), {}
        if package == "classic" and category in CLASSIC_CATEGORIES:
            name = {"chain": "classic_chain.json", "majors": "classic_majors.json"}.get(
                endpoint, "classic_maxchange.json"
            )
        elif package == "state" and category in CLASSIC_CATEGORIES:
            name = {"chain": "state_chain.json", "majors": "classic_majors.json"}.get(
                endpoint, "classic_maxchange.json"
            )
        elif package == "state" and category in GREEK_CATEGORIES and endpoint == "chain":
            name = "state_gamma_zero.json"
        else:
            return 400, _error(f"Invalid package/category: {package}/{category}"), {}
        with self._lock:
            timestamp = self.timestamp
            if self.auto_advance:
                self.timestamp += 1
        return 200, self._stamped(name, ticker=ticker, timestamp=timestamp), {}

    def _stamped(self, name: str, *, ticker: str, timestamp: int) -> bytes:
        raw = payload(name)
        if ticker == "SPX" and timestamp == self._base_timestamp:
            return raw  # the documented bytes, untouched
        body = json.loads(raw)
        body.update(ticker=ticker, timestamp=timestamp)
        return json.dumps(body).encode()

    def _history_link(self, route: list[str], request: RecordedRequest) -> tuple[int, bytes, dict[str, str]]:
        if len(route) != 4:
            return 404, _error("Not found"), {}
        ticker, package, category, day_text = route
        try:
            day = date.fromisoformat(day_text)
        except ValueError:
            return 400, _error(f"Invalid date {day_text!r}: expected YYYY-MM-DD"), {}
        if not self._known(ticker):
            return 404, _error(f"Ticker {ticker} not found"), {}
        token = secrets.token_hex(16)
        with self._lock:
            self._presigned[token] = (ticker, package, category, day)
        url = f"{self.root_url}/presigned/{ticker}/{package}/{category}/{day.isoformat()}.json?X-Amz-Signature={token}"
        if "noredirect" in parse_qs(request.query, keep_blank_values=True):
            return 200, json.dumps({"url": url}).encode(), {}
        return 302, b"", {"Location": url}

    def _presigned_download(self, request: RecordedRequest) -> tuple[int, bytes, dict[str, str]]:
        xml = {"Content-Type": "application/xml"}
        if request.header("Authorization"):
            # What S3 answers when a presigned URL also carries an Authorization header.
            return (
                400,
                b"<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed</Message></Error>",
                xml,
            )
        token = parse_qs(request.query).get("X-Amz-Signature", [""])[0]
        with self._lock:
            key = self._presigned.get(token)
        if key is None:
            return 403, b"<Error><Code>SignatureDoesNotMatch</Code></Error>", xml
        scripted = self._scripted(request.path)
        if scripted is not None:
            return scripted
        body = self.history_files.get(key) or self._history_body(*key)
        if "gzip" in (request.header("Accept-Encoding") or ""):
            return 200, gzip.compress(body), {"Content-Encoding": "gzip"}
        return 200, body, {}

    def _history_body(self, ticker: str, package: str, category: str, day: date) -> bytes:
        shift = (day - HISTORY_DAY).days * 86_400
        snapshots = json.loads(payload(HISTORY_FILE))
        for snapshot in snapshots:
            snapshot.update(ticker=ticker, timestamp=snapshot["timestamp"] + shift)
        return json.dumps(snapshots).encode()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve a fake GEXBot API on 127.0.0.1 until interrupted.")
    parser.add_argument("--port", type=int, default=0, help="port to bind (0: any free port)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--api-key", default=FAKE_API_KEY, help="the Bearer key clients must send")
    parser.add_argument("--auto-advance", action="store_true", help="move the clock 1 s per data answer")
    args = parser.parse_args(argv)
    fake = FakeGEXBot(api_key=args.api_key, host=args.host, port=args.port, auto_advance=args.auto_advance)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with fake:
        started = datetime.now(UTC).isoformat(timespec="seconds")
        sys.stdout.write(f"fake GEXBot serving {fake.base_url} since {started} (GEXBOT_BASE_URL={fake.base_url})\n")
        sys.stdout.flush()
        stop.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
