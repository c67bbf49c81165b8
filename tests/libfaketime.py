"""The suite under Debian's `faketime` (.ci/run's calendar runs, README "Testing").

libfaketime is preloaded into the pytest process with FAKETIME_DONT_FAKE_MONOTONIC=1, so asyncio,
thread waits and timeouts keep the real monotonic clock while the wall clock is faked. Two
consequences are dealt with here, once, before any test runs:

- libfaketime 0.9.10 (Debian's) turns Python 3.11's `time.sleep`, which is
  `clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME)`, into EINVAL when the monotonic clock is not
  faked (wolfcw/libfaketime#426). Sleeping on `select` waits on the same monotonic clock without
  that call.
- Processes a test starts (Celery workers, an embedded Redis) would inherit the preload and hit
  the same bug; they run on the real clock instead. A test that starts processes passes them the
  times it needs or asserts nothing that depends on the date.
"""

from __future__ import annotations

import os
import select
import time

_PRELOADED = "faketime" in os.environ.get("LD_PRELOAD", "")


def _sleep(seconds: float) -> None:
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    select.select([], [], [], seconds)  # retried with the remaining time after a signal (PEP 475)


def preloaded() -> bool:
    """Whether this process runs under a preloaded libfaketime (.ci/run's calendar reruns)."""
    return _PRELOADED


def adapt() -> bool:
    """Adapt this process to a preloaded libfaketime; False (and nothing done) without one."""
    if not _PRELOADED:
        return False
    # Only the preload goes: libfaketime reads FAKETIME from this process's environment again
    # every few seconds, and without it the clock would jump back to the real one mid-run.
    others = [library for library in os.environ["LD_PRELOAD"].replace(":", " ").split() if "faketime" not in library]
    if others:
        os.environ["LD_PRELOAD"] = " ".join(others)
    else:
        del os.environ["LD_PRELOAD"]
    time.sleep = _sleep
    return True
