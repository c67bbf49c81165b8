"""HTTP senders: a webhook signed with HMAC-SHA256, and a Discord channel webhook."""

from __future__ import annotations

import hashlib
import hmac
import time

import httpx

from apps.alerts.actions import Outcome

SIGNATURE_HEADER = "X-Pipeline-Signature"
TIMESTAMP_HEADER = "X-Pipeline-Timestamp"
DELIVERY_HEADER = "X-Pipeline-Delivery"
USER_AGENT = "data-pipeline-alerts/1"
MAX_RETRY_AFTER_SECONDS = 3600.0


def signature(*, secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex>` of HMAC-SHA256 over `<timestamp>.<body>`: what a receiver recomputes."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def _retry_after(response: httpx.Response) -> float | None:
    header = response.headers.get("Retry-After")
    value: float | None = None
    if header:
        try:
            value = float(header)
        except ValueError:
            value = None
    if value is None and response.headers.get("content-type", "").startswith("application/json"):
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("retry_after"), int | float):
            value = float(body["retry_after"])
    return None if value is None else min(max(value, 0.0), MAX_RETRY_AFTER_SECONDS)


def _outcome(response: httpx.Response) -> Outcome:
    status = response.status_code
    if 200 <= status < 300:
        return Outcome(ok=True)
    if status == 429:
        return Outcome(ok=False, error="429 Too Many Requests", retry_after=_retry_after(response))
    retryable = status >= 500 or status == 408
    return Outcome(
        ok=False, error=f"HTTP {status}", retry_after=_retry_after(response) if retryable else None, retryable=retryable
    )


def post_signed(*, url: str, secret: str, body: bytes, delivery: str, timeout: float) -> Outcome:
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(secret=secret, timestamp=timestamp, body=body),
        DELIVERY_HEADER: delivery,
    }
    try:
        response = httpx.post(url, content=body, headers=headers, timeout=timeout)
    except httpx.HTTPError as error:
        # The URL may carry a secret: name the kind of error only.
        return Outcome(ok=False, error=f"{type(error).__name__}")
    return _outcome(response)


def post_discord(*, url: str, payload: bytes, timeout: float = 10.0) -> Outcome:
    try:
        response = httpx.post(
            url,
            content=payload,
            headers={"Content-Type": "application/json", "User-Agent": USER_AGENT},
            timeout=timeout,
        )
    except httpx.HTTPError as error:
        return Outcome(ok=False, error=f"{type(error).__name__}")
    return _outcome(response)
