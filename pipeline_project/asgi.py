"""The one ASGI application: admin, pages, API, health and metrics over HTTP, and the WebSocket
topics under /ws/ (apps/realtime)."""

from __future__ import annotations

import gc
import os

import django
from channels.routing import ProtocolTypeRouter, URLRouter

from pipeline_project.env import exit_for, settings_module_problem

# An empty value (an env file's `DJANGO_SETTINGS_MODULE=`) means the default too.
os.environ["DJANGO_SETTINGS_MODULE"] = os.environ.get("DJANGO_SETTINGS_MODULE") or "pipeline_project.settings.local"

_settings_problem = settings_module_problem(os.environ["DJANGO_SETTINGS_MODULE"])
if _settings_problem is not None:
    exit_for([_settings_problem])

# Set Django up before importing anything that touches models (as get_asgi_application does).
django.setup(set_prefix=False)

from pipeline_project.asgi_handler import PooledThreadASGIHandler  # noqa: E402

# Django's request cycle in one hop to a pooled thread, instead of Django's ASGIHandler with a
# thread per request and a hop per signal and middleware chain (asgi_handler.py says why).
django_asgi_app = PooledThreadASGIHandler()

from apps.core.startup_checks import refuse_to_start  # noqa: E402

# uvicorn runs no system checks (runserver does): the web process refuses a bad deployment here.
refuse_to_start()

from apps.realtime.auth import websocket_auth  # noqa: E402
from apps.realtime.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": websocket_auth(URLRouter(websocket_urlpatterns)),
    }
)

# Everything loaded so far (Django, the URL conf, ninja's schemas, the ASGI stack) lives as long as
# the process: out of the collector's sight, a full collection scans only what requests make, and
# does not stop every request for tens of milliseconds (docs/architecture.md, "Under concurrent
# clients").
gc.collect()
gc.freeze()
