"""UW tasks: parse arguments, call a service, return a small JSON summary."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings

from apps.core.clock import utc_now
from apps.core.redis import get_redis
from apps.core.runtime_config import runtime_value
from apps.uw.rest import UWRestClient, UWRestError
from apps.uw.services.market_tide import market_tide_poll


@shared_task(
    name="apps.uw.tasks.uw_market_tide_poll",
    autoretry_for=(UWRestError,),
    max_retries=2,
    retry_backoff=5,
    retry_jitter=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=50,
    time_limit=60,
)
def uw_market_tide_poll() -> dict[str, Any]:
    """Idempotent: a repeated poll stores only the minutes not stored yet."""
    env = settings.ENV
    if not env.UW_ENABLED:
        return {"skipped": "UW_ENABLED is false"}
    rest = UWRestClient(base_url=env.UW_API_URL, token=env.UW_API_TOKEN.get_secret_value())
    result = market_tide_poll(
        rest=rest, client=get_redis(), now=utc_now(), otm_only=bool(runtime_value("uw.market_tide_otm_only"))
    )
    return dict(result.__dict__)
