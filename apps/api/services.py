"""Writes of the REST API: tokens, and the control actions with their audit rows."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import redis
import structlog
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, User
from django.core.exceptions import PermissionDenied
from django.db import transaction

from apps.api.models import APIToken, ControlAction
from apps.core import keys
from apps.core.clock import utc_now
from apps.core.models import RuntimeSetting
from apps.core.redis import get_redis
from apps.core.runtime_settings import spec_for
from apps.core.services import runtime_setting_update

log = structlog.get_logger(__name__)

DISABLED_STREAMERS = "marketdata.disabled_streamers"
# last_used is a convenience for the admin, not an audit: one write a minute per token at most.
LAST_USED_RESOLUTION = timedelta(minutes=1)
CONTROL_STREAM_LENGTH = 100


# -- tokens ------------------------------------------------------------------------------


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_create(*, user: User, name: str) -> tuple[APIToken, str]:
    """A new token for `user`; returns it with its secret, which is not stored and cannot be
    shown again."""
    if not name.strip():
        raise ValueError("name: a token needs a name saying what it is for")
    secret = secrets.token_urlsafe(32)
    token = APIToken.objects.create(user=user, name=name.strip(), prefix=secret[:8], key_hash=token_hash(secret))
    log.info("api_token.created", token_id=token.pk, user_id=user.pk, prefix=token.prefix)
    return token, secret


def token_revoke(*, token: APIToken) -> APIToken:
    """Revoke a token at once; revoking a revoked token keeps its first revocation time."""
    if token.revoked_at is None:
        token.revoked_at = utc_now()
        token.save(update_fields=["revoked_at"])
        log.info("api_token.revoked", token_id=token.pk, prefix=token.prefix)
    return token


def token_touch(*, token: APIToken) -> None:
    now = utc_now()
    if token.last_used is None or now - token.last_used >= LAST_USED_RESOLUTION:
        APIToken.objects.filter(pk=token.pk).update(last_used=now)
        token.last_used = now


# -- control actions ------------------------------------------------------------------------


def control_perform(
    *,
    user: AbstractBaseUser,
    token: APIToken | None,
    action: str,
    params: dict[str, Any],
    perform: Callable[[], dict[str, Any]],
) -> dict[str, Any]:
    """Run one control action for a staff user, with an audit row whatever happens.

    A non-staff caller gets PermissionDenied (audited as denied); an error of the action is
    audited as failed and raised again.
    """
    audit = {"user": user if user.pk else None, "token": token, "action": action, "params": params}
    if not getattr(user, "is_staff", False):
        ControlAction.objects.create(**audit, outcome=ControlAction.Outcome.DENIED)
        log.warning("api.control_denied", action=action, user_id=user.pk, token_id=token.pk if token else None)
        raise PermissionDenied(f"{action} needs a staff user")
    try:
        result = perform()
    except Exception as error:
        ControlAction.objects.create(
            **audit, outcome=ControlAction.Outcome.FAILED, detail={"error": f"{type(error).__name__}: {error}"}
        )
        raise
    ControlAction.objects.create(**audit, outcome=ControlAction.Outcome.OK, detail=result)
    log.info("api.control", action=action, params=params, user_id=user.pk, token_id=token.pk if token else None)
    return result


@transaction.atomic
def streamer_enable(*, name: str, enabled: bool, actor: AbstractBaseUser | None = None) -> dict[str, Any]:
    """Switch a streamer on or off through the runtime setting its process follows (no restart)."""
    keys.streamer(name)  # the name must be a valid streamer name
    # Read the stored row under a lock, not this process's cache: two concurrent changes must
    # not undo each other.
    row = RuntimeSetting.objects.select_for_update().filter(key=DISABLED_STREAMERS).first()
    current = (
        list(row.value) if row is not None and row.value is not None else list(spec_for(DISABLED_STREAMERS).default)
    )
    disabled = [item for item in current if item != name] if enabled else sorted({*current, name})
    if disabled != current:
        runtime_setting_update(key=DISABLED_STREAMERS, value=disabled, actor=actor)
    return {"streamer": name, "enabled": enabled, "disabled_streamers": disabled}


def streamer_resubscribe_request(*, name: str, requested_by: str, client: redis.Redis | None = None) -> dict[str, Any]:
    """Ask a running streamer to subscribe to all its symbols again; it reads the request from
    its control stream at its next housekeeping tick (about a second)."""
    client = client or get_redis()
    entry_id = client.xadd(
        keys.streamer_control(name),
        {"action": "resubscribe", "requested_by": requested_by, "at": utc_now().isoformat()},
        maxlen=CONTROL_STREAM_LENGTH,
        approximate=True,
    )
    request_id = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
    return {"streamer": name, "request_id": request_id}


def flush_enqueue() -> dict[str, Any]:
    """Queue one run of the lake flush (the same task beat schedules)."""
    from apps.storage.tasks import flush_streams

    result = flush_streams.delay()
    return {"task_id": result.id}


def purge_run(
    *,
    dry_run: bool,
    data_type: str | None,
    before: date | None,
    user: AbstractBaseUser | None,
    client: redis.Redis | None = None,
) -> dict[str, Any]:
    """Plan a retention purge and, unless `dry_run`, carry it out (the same services as
    `manage.py purge`). Returns the audit row's id, the plan and the result."""
    from apps.storage.retention import purge_execute, purge_plan

    client = client or get_redis()
    plan = purge_plan(client=client, lake=settings.LAKE_DIR, data_type=data_type, before=before)
    run = purge_execute(
        client=client,
        lake=settings.LAKE_DIR,
        plan=plan,
        dry_run=dry_run,
        triggered_by=f"api:{user}" if user is not None else "api",
        user=user,
        data_type=data_type,
        before=before,
    )
    return {
        "run_id": run.pk,
        "dry_run": run.dry_run,
        "status": run.status,
        "plan": run.plan,
        "result": run.result,
        "bytes_freed": run.bytes_freed,
    }
