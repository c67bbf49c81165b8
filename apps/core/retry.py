"""Retry and backoff policies, built on tenacity so every caller backs off the same way."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential_jitter,
)


def backoff(
    *,
    retry_on: tuple[type[BaseException], ...],
    attempts: int | None = None,
    max_seconds: float | None = None,
    initial: float = 0.5,
    maximum: float = 30.0,
) -> Retrying:
    """Exponential backoff with jitter: `for attempt in backoff(...): with attempt: ...`."""
    stop: Any = stop_after_attempt(attempts) if attempts else stop_after_delay(max_seconds or 60)
    return Retrying(
        retry=retry_if_exception_type(retry_on),
        wait=wait_exponential_jitter(initial=initial, max=maximum),
        stop=stop,
        reraise=True,
    )


def wait_until(condition: Callable[[], bool], *, timeout: float, interval: float = 0.1) -> None:
    """Poll `condition` until it is true; TimeoutError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout} s")
        time.sleep(interval)
