"""The one ASGI application: admin, pages, API, health and metrics over HTTP, and the WebSocket
topics under /ws/ (apps/realtime)."""

from __future__ import annotations

import os

from channels.routing import ProtocolTypeRouter, URLRouter
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pipeline_project.settings.local")

# Set Django up before importing anything that touches models.
django_asgi_app = get_asgi_application()

from apps.realtime.auth import websocket_auth  # noqa: E402
from apps.realtime.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": websocket_auth(URLRouter(websocket_urlpatterns)),
    }
)
