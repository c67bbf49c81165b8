"""Retry and backoff policies, built on tenacity so every caller backs off the same way."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from tenacity import (
    AsyncRetrying,
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
        wait=wait_exponential_jitter(multiplier=initial, max=maximum, jitter=initial),
        stop=stop,
        reraise=True,
    )


def reconnect_backoff(
    *,
    retry_on: tuple[type[BaseException], ...],
    should_stop: Callable[[], bool],
    sleep: Callable[[float], Awaitable[None]],
    initial: float = 0.5,
    maximum: float = 30.0,
) -> AsyncRetrying:
    """Retry forever (until `should_stop`) with exponential backoff and jitter, for connections:
    `async for attempt in reconnect_backoff(...): with attempt: await connect()`."""
    return AsyncRetrying(
        retry=retry_if_exception_type(retry_on),
        wait=wait_exponential_jitter(multiplier=initial, max=maximum, jitter=initial),
        stop=lambda _state: should_stop(),
        sleep=sleep,
        reraise=True,
    )
