"""How an alert reaches each kind of action. Each sender returns an `Outcome`; it never raises
for a failure of the receiver (the delivery service records it and schedules the retry)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Outcome:
    ok: bool
    error: str = ""
    # Seconds the receiver asked us to wait (HTTP 429 Retry-After); None: our own backoff.
    retry_after: float | None = None
    # False when retrying cannot help (a 4xx other than 408/429): the delivery fails at once.
    retryable: bool = True
