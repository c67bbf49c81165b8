"""Signed-in API tokens remembered per process, forgotten by every process the moment a token or
a user changes.

Looking a token up in the database (the token with its user) was ~40 % of the CPU of a hot REST
read; a Redis GET costs about a fiftieth of it. So each process keeps hash -> (user, token) for
the tokens it signed in, and before every use reads one Redis key, `ACCOUNTS_TOKENS_GENERATION`:
a random value that `tokens_changed()` replaces whenever a token or a user is saved or deleted
(signals below, so the admin, `token_revoke`, the `api_token` command and any ORM save count).
A process that reads a value other than the one it remembered under forgets everything, so a
revoked token, a deactivated or deleted user is refused on the very next request in every
process. The value is random, not a counter: a Redis that lost the key (restart without
persistence, FLUSHDB) can never hand back a value some process still holds.

The value is replaced both at once (a test's transaction never commits) and after the commit
(a process that re-read the row between the two remembers the old row under the first value,
and the second forgets it). Unknown tokens are never remembered. Without Redis every lookup goes
to the database, and the process forgets what it held; entries also expire after
MAX_AGE_SECONDS, which bounds how long a change made without the ORM's signals (a raw SQL or a
`QuerySet.update()`) can go unseen.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import redis
import structlog
from django.db import transaction

from apps.core import keys
from apps.core.redis import get_redis

log = structlog.get_logger(__name__)

MAX_AGE_SECONDS = 60.0
# A process holds the tokens of its callers; far more than this means something is wrong (or
# it is being probed with many valid tokens): start over rather than grow.
MAX_ENTRIES = 10_000

Found = tuple[Any, Any]  # (user, APIToken)
_UNKNOWN = object()  # a generation no Redis value equals: nothing held is trusted


class TokenCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[Found, float]] = {}
        self._generation: object = _UNKNOWN

    def lookup(self, key_hash: str, load: Callable[[], Found | None]) -> Found | None:
        """The remembered (user, token) of `key_hash` while nothing changed since, else `load()`'s
        answer, remembered when it is one."""
        try:
            generation: object = get_redis().get(keys.ACCOUNTS_TOKENS_GENERATION)
        except redis.RedisError:
            self.clear()
            return load()
        now = time.monotonic()
        with self._lock:
            if generation != self._generation:
                self._entries.clear()
                self._generation = generation
            held = self._entries.get(key_hash)
            if held is not None and now - held[1] < MAX_AGE_SECONDS:
                return held[0]
        found = load()
        if found is not None:
            with self._lock:
                # Remembered under the generation read before the database was: a change
                # committed meanwhile has replaced it, and the next lookup forgets this entry.
                if self._generation == generation:
                    if len(self._entries) >= MAX_ENTRIES:
                        self._entries.clear()
                    self._entries[key_hash] = (found, now)
        return found

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._generation = _UNKNOWN


token_cache = TokenCache()


def tokens_changed() -> None:
    """Make every process forget the tokens it remembered: now, and again after the commit."""
    _new_generation()
    transaction.on_commit(_new_generation)


def _new_generation() -> None:
    try:
        get_redis().set(keys.ACCOUNTS_TOKENS_GENERATION, uuid.uuid4().hex)
    except redis.RedisError as error:
        # The change is saved; processes that cannot read Redis do not use what they held, and
        # what they hold expires after MAX_AGE_SECONDS.
        log.error("accounts.tokens_changed_not_announced", error=f"{type(error).__name__}: {error}")
    token_cache.clear()  # this process at least forgets at once, even without Redis


def _on_token_saved(sender: Any, instance: Any, created: bool = False, **kwargs: Any) -> None:
    if not created:  # a new token is nowhere remembered yet
        tokens_changed()


def _on_user_saved(sender: Any, instance: Any, created: bool = False, update_fields: Any = None, **kwargs: Any) -> None:
    # A sign-in saves last_login only: nothing a token check reads.
    if not created and not (update_fields is not None and set(update_fields) == {"last_login"}):
        tokens_changed()


def _on_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    tokens_changed()


def connect_signals() -> None:
    from django.contrib.auth import get_user_model
    from django.db.models.signals import post_delete, post_save

    from apps.accounts.models import APIToken

    user_model = get_user_model()
    post_save.connect(_on_token_saved, sender=APIToken, dispatch_uid="accounts.token_saved")
    post_delete.connect(_on_deleted, sender=APIToken, dispatch_uid="accounts.token_deleted")
    post_save.connect(_on_user_saved, sender=user_model, dispatch_uid="accounts.user_saved")
    post_delete.connect(_on_deleted, sender=user_model, dispatch_uid="accounts.user_deleted")
