"""API tokens (create, revoke, authenticate) and staff control actions with their audit rows."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import structlog
from django.contrib.auth.models import AbstractBaseUser, User
from django.core.exceptions import PermissionDenied, ValidationError

from apps.accounts.models import APIToken, ControlAction
from apps.accounts.token_cache import token_cache
from apps.core.clock import utc_now
from apps.core.exceptions import BadInputError

log = structlog.get_logger(__name__)

# last_used is a convenience for the admin, not an audit: one write a minute per token at most.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# Longest secret we look up: a real one is 43 characters; anything far longer is not a token.
MAX_TOKEN_LENGTH = 200


# -- tokens ------------------------------------------------------------------------------


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_create(*, user: User, name: str) -> tuple[APIToken, str]:
    """A new token for `user`; returns it with its secret, which is not stored and cannot be
    shown again. A blank name is a BadInputError naming `name`."""
    if not name.strip():
        raise BadInputError("name", "a token needs a name saying what it is for")
    secret = secrets.token_urlsafe(32)
    token = APIToken.objects.create(user=user, name=name.strip(), prefix=secret[:8], key_hash=token_hash(secret))
    log.info("api_token.created", token_id=token.pk, user_id=user.pk, prefix=token.prefix)
    return token, secret


def api_user_create(*, username: str) -> User:
    """A plain user to own read-only tokens: no admin login (not staff), no usable password, so
    it can only act through its tokens, never on the control endpoints."""
    username = username.strip()
    try:
        User.username_validator(username)
    except ValidationError as error:
        raise BadInputError("user", f"{username!r} is not a valid username: {' '.join(error.messages)}") from None
    if User.objects.filter(username=username).exists():
        raise BadInputError("user", f"a user named {username!r} exists already")
    user = User.objects.create_user(username=username, is_staff=False)
    user.set_unusable_password()
    user.save(update_fields=["password"])
    log.info("api_user.created", user_id=user.pk)
    return user


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


def token_user(raw_token: str) -> tuple[AbstractBaseUser, APIToken] | None:
    """The active user and token a raw bearer token belongs to, noting its use; None when it is
    unknown, revoked, or its user is inactive. Every door that takes tokens signs in with this."""
    raw_token = raw_token.strip()
    if not raw_token or len(raw_token) > MAX_TOKEN_LENGTH:
        return None
    key_hash = token_hash(raw_token)

    def load() -> tuple[AbstractBaseUser, APIToken] | None:
        token = (
            APIToken.objects.select_related("user")
            .filter(key_hash=key_hash, revoked_at__isnull=True, user__is_active=True)
            .first()
        )
        return (token.user, token) if token is not None else None

    # Remembered per process until a token or a user changes anywhere (token_cache).
    found = token_cache.lookup(key_hash, load)
    if found is None:
        return None
    token_touch(token=found[1])
    return found


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
