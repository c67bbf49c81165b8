"""Delivering alerts: each (alert, action) pair is a row that one process claims, sends and
records. A failure is recorded on its row and retried with backoff (or when the receiver's
`Retry-After` says); the other actions of the same alert go on regardless."""

from __future__ import annotations

import os
import signal
import socket
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, get_args

import structlog
from django.db import close_old_connections
from django.db.models import Q
from pydantic import TypeAdapter

from apps.alerts.action_specs import Action, DiscordAction, PubSubAction, WebhookAction, WebSocketAction
from apps.alerts.actions import Outcome
from apps.alerts.actions.discord import discord_send
from apps.alerts.actions.http import post_signed
from apps.alerts.actions.redis_actions import fired_append_once, publish_once
from apps.alerts.models import AlertDelivery, AlertEvent
from apps.core.clock import utc_now
from apps.core.codec import dumps
from apps.core.redis import get_redis
from apps.monitoring.metrics import ALERT_DELIVERIES

log = structlog.get_logger(__name__)

MAX_ATTEMPTS = 8
MAX_BACKOFF_SECONDS = 300.0
CLAIM_SECONDS = 120
_ACTION = TypeAdapter(Action)
# The `action` label's values: the action kinds of action_specs (anything else counts as other).
ACTION_KINDS = frozenset(
    get_args(spec.model_fields["kind"].annotation)[0]
    for spec in (DiscordAction, WebhookAction, PubSubAction, WebSocketAction)
)


def claimer_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claimer_alive(claimed_by: str) -> bool:
    """False for a claim of a process of this machine that no longer runs; claims of other
    machines count as alive (they expire after CLAIM_SECONDS)."""
    host, _, pid = claimed_by.partition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def alert_document(event: AlertEvent) -> dict[str, Any]:
    """The alert as every action sends it."""
    return {
        "id": event.pk,
        "rule_id": event.rule_id,
        "rule": event.rule.name,
        "source": event.source,
        "symbol": str(event.input.get("symbol", "")),
        "key": event.key,
        "event_time": event.event_time.isoformat(),
        "position": event.position,
        "input": event.input,
        "test": event.test,
    }


def backoff_seconds(attempts: int) -> float:
    return float(min(MAX_BACKOFF_SECONDS, 2 ** max(attempts - 1, 0)))


def _send(delivery: AlertDelivery, action: Any, alert: dict[str, Any]) -> Outcome:
    body = dumps(alert)
    if isinstance(action, WebhookAction):
        return post_signed(
            url=action.url.get_secret_value(),
            secret=action.secret.get_secret_value(),
            body=body,
            delivery=f"{alert['id']}-{delivery.action_index}",
            timeout=action.timeout_seconds,
        )
    if isinstance(action, DiscordAction):
        return discord_send(action=action, alert=alert)
    if isinstance(action, PubSubAction):
        return publish_once(get_redis(), delivery_id=delivery.pk, channel=action.channel, body=body)
    if isinstance(action, WebSocketAction):
        return fired_append_once(get_redis(), delivery_id=delivery.pk, body=body)
    return Outcome(ok=False, error=f"unknown action {type(action).__name__}", retryable=False)


def delivery_claim(*, delivery_id: int, claimer: str) -> bool:
    now = utc_now()
    claimable = Q(state__in=[AlertDelivery.State.PENDING, AlertDelivery.State.RETRY], next_attempt_at__lte=now) | Q(
        state=AlertDelivery.State.SENDING, claimed_until__lt=now
    )
    return bool(
        AlertDelivery.objects.filter(claimable, pk=delivery_id).update(
            state=AlertDelivery.State.SENDING,
            claimed_by=claimer,
            claimed_until=now + timedelta(seconds=CLAIM_SECONDS),
        )
    )


def delivery_perform(*, delivery_id: int, claimer: str | None = None, failpoint: str = "") -> str | None:
    """Claim, send and record one delivery; returns its new state, or None when another process
    has it (or it is not due)."""
    claimer = claimer or claimer_name()
    if not delivery_claim(delivery_id=delivery_id, claimer=claimer):
        return None
    delivery = AlertDelivery.objects.select_related("event__rule").get(pk=delivery_id)
    actions = delivery.event.rule.actions
    try:
        action = _ACTION.validate_python(actions[delivery.action_index])
    except (IndexError, ValueError) as error:
        outcome = Outcome(
            ok=False,
            error=f"the rule's action {delivery.action_index} is gone or invalid: {type(error).__name__}",
            retryable=False,
        )
    else:
        outcome = _send(delivery, action, alert_document(delivery.event))
        if failpoint == "after_send":
            os.kill(os.getpid(), signal.SIGKILL)
    return delivery_finish(delivery=delivery, outcome=outcome)


def delivery_finish(*, delivery: AlertDelivery, outcome: Outcome) -> str:
    now = utc_now()
    attempts = delivery.attempts + 1
    fields: dict[str, Any] = {"attempts": attempts, "claimed_by": "", "claimed_until": None}
    if outcome.ok:
        fields |= {"state": AlertDelivery.State.DONE, "delivered_at": now, "last_error": ""}
    elif not outcome.retryable or attempts >= MAX_ATTEMPTS:
        fields |= {"state": AlertDelivery.State.FAILED, "last_error": outcome.error}
    else:
        wait = outcome.retry_after if outcome.retry_after is not None else backoff_seconds(attempts)
        fields |= {
            "state": AlertDelivery.State.RETRY,
            "last_error": outcome.error,
            "next_attempt_at": now + timedelta(seconds=wait),
        }
    AlertDelivery.objects.filter(pk=delivery.pk, claimed_by=delivery.claimed_by).update(**fields)
    # outcome: delivered, retry (this attempt failed; another is scheduled) or failed (given up).
    ALERT_DELIVERIES.labels(
        action=delivery.kind if delivery.kind in ACTION_KINDS else "other",
        outcome="delivered" if outcome.ok else "retry" if fields["state"] == AlertDelivery.State.RETRY else "failed",
    ).inc()
    if not outcome.ok:
        log.warning(
            "alerts.delivery_failed",
            delivery_id=delivery.pk,
            kind=delivery.kind,
            attempts=attempts,
            error=outcome.error,
            state=str(fields["state"]),
        )
    return str(fields["state"])


def deliveries_due(*, limit: int = 200) -> list[int]:
    now = utc_now()
    due = Q(state__in=[AlertDelivery.State.PENDING, AlertDelivery.State.RETRY], next_attempt_at__lte=now) | Q(
        state=AlertDelivery.State.SENDING, claimed_until__lt=now
    )
    return list(
        AlertDelivery.objects.filter(due).order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit]
    )


def _perform_in_thread(delivery_id: int, claimer: str) -> str | None:
    try:
        return delivery_perform(delivery_id=delivery_id, claimer=claimer)
    finally:
        close_old_connections()


def deliveries_run(*, pool: ThreadPoolExecutor | None = None, limit: int = 200) -> int:
    """Send every due delivery, each in its own thread of `pool` (a slow receiver holds only its
    own thread); returns how many were attempted."""
    due = deliveries_due(limit=limit)
    if not due:
        return 0
    claimer = claimer_name()
    if pool is None:
        for delivery_id in due:
            delivery_perform(delivery_id=delivery_id, claimer=claimer)
        return len(due)
    for future in [pool.submit(_perform_in_thread, delivery_id, claimer) for delivery_id in due]:
        future.result()
    return len(due)
