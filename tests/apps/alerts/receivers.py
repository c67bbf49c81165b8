"""Real local HTTP receivers for the alert actions: a webhook endpoint that verifies the
signature as a customer's server would (its own HMAC, not ours), and a Discord webhook endpoint
that rate-limits like Discord (429 with Retry-After and a JSON `retry_after`)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    at: float
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    # Status codes to answer, in order; then 200 (204 for Discord).
    script: list[int] = field(default_factory=list)
    retry_after: float = 1.0


def _verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    timestamp = headers.get("x-pipeline-timestamp", "")
    expected = "sha256=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers.get("x-pipeline-signature", ""))


@contextmanager
def receiver(*, secret: str = "", discord: bool = False) -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {key.lower(): value for key, value in self.headers.items()}
            state.requests.append(
                Received(time.monotonic(), self.path, headers, body, _verify(secret, headers, body) if secret else True)
            )
            status = state.script.pop(0) if state.script else (204 if discord else 200)
            payload = b""
            self.send_response(status)
            if status == 429:
                payload = json.dumps(
                    {"message": "You are being rate limited.", "retry_after": state.retry_after, "global": False}
                ).encode()
                self.send_header("Retry-After", str(state.retry_after))
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
