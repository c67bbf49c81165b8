"""The exactly-once reader, against a real Redis and a real process killed between its write and
its acknowledgement."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.conf import settings

from apps.core.redis import get_redis
from apps.storage.consumer import ExactlyOnceReader, StreamBusyError

ROOT = Path(__file__).resolve().parents[3]
KEY = "test:consumer:{ESZ26}"
LOCK = "test:consumer:lock:{ESZ26}"


def reader(consumer: str = "one") -> ExactlyOnceReader:
    return ExactlyOnceReader(client=get_redis(), key=KEY, group="g", consumer=consumer, lock=LOCK)


def add(count: int) -> list[str]:
    return [get_redis().xadd(KEY, {"d": str(n)}).decode() for n in range(count)]  # type: ignore[union-attr]


def test_a_batch_not_acknowledged_comes_back_first_and_whole() -> None:
    ids = add(5)
    with reader() as first:
        batch = first.read(count=2)
        assert batch is not None
        assert batch.ids == ids[:2]
        assert not batch.redelivered
        # No ack: the effect was not made durable (a crash, an exception).
    with reader() as second:
        again = second.read(count=1)
        assert again is not None
        assert again.ids == ids[:2], "pending first, all of it"
        assert again.redelivered
        second.ack(again)
        rest = second.read(count=10)
        assert rest is not None
        assert rest.ids == ids[2:]
        assert not rest.redelivered
        second.ack(rest)
        assert second.read(count=10) is None
    assert get_redis().xpending(KEY, "g")["pending"] == 0


def test_entries_stay_pending_until_acknowledged() -> None:
    add(3)
    with reader() as one:
        batch = one.read(count=10)
        assert batch is not None
        assert get_redis().xpending(KEY, "g")["pending"] == 3
        one.ack(batch)
        assert get_redis().xpending(KEY, "g")["pending"] == 0


def test_a_stream_held_by_a_live_process_is_busy_and_read_and_ack_need_the_lock() -> None:
    add(1)
    holder = get_redis().lock(LOCK, timeout=30)
    assert holder.acquire(blocking=False, token=f"{socket.gethostname()}:1:x")  # pid 1 lives
    with pytest.raises(StreamBusyError, match=KEY), reader():
        pass
    holder.release()
    idle = reader()
    with pytest.raises(RuntimeError, match="inside `with reader:`"):
        idle.read(count=1)


def test_a_lock_of_a_dead_process_on_another_machine_is_left_to_expire() -> None:
    get_redis().set(LOCK, "some-other-host:999999999:x", ex=30)
    with pytest.raises(StreamBusyError), reader():
        pass


def test_a_process_killed_between_its_write_and_its_ack_is_taken_over_and_its_batch_read_again(
    tmp_path: Path,
) -> None:
    ids = add(4)
    written = tmp_path / "written"
    child = textwrap.dedent(
        f"""
        import os, signal, redis
        from apps.storage.consumer import ExactlyOnceReader
        client = redis.Redis.from_url({settings.REDIS_URL!r})
        reader = ExactlyOnceReader(client=client, key={KEY!r}, group="g", consumer="one", lock={LOCK!r})
        with reader:
            batch = reader.read(count=3)
            open({str(written)!r}, "w").write(",".join(batch.ids))
            os.kill(os.getpid(), signal.SIGKILL)  # after the write, before the ack
        """
    )
    process = subprocess.run([sys.executable, "-c", child], cwd=ROOT, capture_output=True, timeout=60, check=False)
    assert process.returncode == -signal.SIGKILL, process.stderr.decode()
    assert written.read_text() == ",".join(ids[:3])
    assert get_redis().get(LOCK) is not None, "the dead process's lock is still there"

    with reader() as heir:  # taken over at once: the holder's pid is gone on this machine
        batch = heir.read(count=10)
        assert batch is not None
        assert batch.ids == ids[:3]
        assert batch.redelivered
        heir.ack(batch)
        rest = heir.read(count=10)
        assert rest is not None
        assert rest.ids == ids[3:]
        heir.ack(rest)
    assert get_redis().get(LOCK) is None, "released on leaving"
