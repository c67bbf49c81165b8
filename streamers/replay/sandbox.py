"""The replay process's side of its sandbox: it opens it (claiming the id), follows an
operator's pause and resume (the `paused` field of the state hash, set by `manage.py replay
pause|resume ID`), and reports its progress there."""

from __future__ import annotations

from collections.abc import Sequence

import redis
import redis.asyncio

from apps.core import keys
from apps.marketdata.services.replays import ReplayExistsError, replay_open, replay_paused, replay_report
from streamers.config import StreamerConfigError
from streamers.feed import ConnectionLostError
from streamers.replay.progress import ReplayProgress


class ReplaySandbox:
    """One replay id's sandbox. `expire_seconds`: how long its keys live after their last write
    (None: until `manage.py replay delete`). No I/O until `open()`."""

    def __init__(self, *, redis_url: str, replay_id: str, expire_seconds: int | None, start_paused: bool) -> None:
        self.replay_id = keys.replay_id_check(replay_id)
        self.keyspace = keys.KeySpace.replay(replay_id)
        self.redis_url = redis_url
        self.expire_seconds = expire_seconds
        self.start_paused = start_paused
        self._client: redis.asyncio.Redis | None = None

    @property
    def is_open(self) -> bool:
        return self._client is not None

    @property
    def _redis(self) -> redis.asyncio.Redis:
        if self._client is None:
            raise RuntimeError("the sandbox is not open")
        return self._client

    async def open(self, *, source: str, symbols: Sequence[str], speed: float, total: int | None) -> None:
        """Claim the id and record the replay; a second call (a reconnect) does nothing."""
        if self._client is not None:
            return
        client = redis.asyncio.Redis.from_url(self.redis_url, socket_timeout=10, socket_connect_timeout=5)
        try:
            await replay_open(
                client=client,
                replay_id=self.replay_id,
                source=source,
                symbols=symbols,
                speed=speed,
                total=total,
                paused=self.start_paused,
                expire_seconds=self.expire_seconds,
            )
        except ReplayExistsError as error:
            await client.aclose()
            raise StreamerConfigError(f"--replay-id: {error.message}") from None
        except redis.RedisError as error:
            await client.aclose()
            # The runner reconnects (with backoff) as for a feed that cannot be reached.
            raise ConnectionLostError(f"the store of replay {self.replay_id} is out of reach: {error}") from None
        except BaseException:
            await client.aclose()
            raise
        self._client = client

    async def paused(self) -> bool:
        return await replay_paused(client=self._redis, replay_id=self.replay_id)

    async def report(self, progress: ReplayProgress, *, symbols: Sequence[str]) -> None:
        """Record `progress`, and the symbols replayed so far (what the sandbox holds)."""
        fraction, eta = progress.fraction, progress.eta_seconds
        fields = {
            "symbols": ",".join(symbols),
            "state": progress.state,
            "done": progress.done,
            "clock_ms": "" if progress.clock_ns is None else progress.clock_ns // 1_000_000,
            "first_ms": "" if progress.first_ns is None else progress.first_ns // 1_000_000,
            "fraction": "" if fraction is None else round(fraction, 4),
            "eta_seconds": "" if eta is None else round(eta, 1),
        }
        await replay_report(
            client=self._redis, replay_id=self.replay_id, fields=fields, expire_seconds=self.expire_seconds
        )

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
