"""The one ASGI application: admin, pages, API, health and metrics over HTTP, and the WebSocket
topics under /ws/ (apps/realtime)."""

from __future__ import annotations

import os

from channels.routing import ProtocolTypeRouter, URLRouter
from django.core.asgi import get_asgi_application

from pipeline_project.env import exit_for, settings_module_problem

# An empty value (an env file's `DJANGO_SETTINGS_MODULE=`) means the default too.
os.environ["DJANGO_SETTINGS_MODULE"] = os.environ.get("DJANGO_SETTINGS_MODULE") or "pipeline_project.settings.local"

_settings_problem = settings_module_problem(os.environ["DJANGO_SETTINGS_MODULE"])
if _settings_problem is not None:
    exit_for([_settings_problem])

# Set Django up before importing anything that touches models.
django_asgi_app = get_asgi_application()

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
