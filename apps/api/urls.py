"""The REST API: one NinjaAPI at /api/ (OpenAPI at /api/openapi.json, docs at /api/docs), every
operation behind a token or session sign-in and the per-caller rate limit."""

from __future__ import annotations

from django.urls import path
from ninja import NinjaAPI

from apps.api.auth import API_AUTH
from apps.api.errors import install_error_handlers
from apps.api.ratelimit import RedisRateLimit
from apps.api.render import ORJSONRenderer
from apps.api.routers import (
    alerts,
    bars,
    control,
    depth,
    depth_views,
    exports,
    gex,
    quotes,
    replays,
    status,
    ticks,
    trading,
    vendor,
)

api = NinjaAPI(
    title="data-pipeline",
    version="1.0.0",
    description="Market data (trades, quotes, books, bars), GEX snapshots, platform status and control. "
    "Sign in with `Authorization: Bearer <token>` (manage.py api_token create) or a browser session.",
    urls_namespace="api",
    auth=API_AUTH,
    throttle=[RedisRateLimit()],
    renderer=ORJSONRenderer(),
)
install_error_handlers(api)
for module in (
    ticks,
    quotes,
    depth,
    depth_views,
    bars,
    exports,
    gex,
    status,
    control,
    replays,
    alerts,
    trading,
    vendor,
):
    api.add_router("", module.router)

urlpatterns = [path("", api.urls)]
