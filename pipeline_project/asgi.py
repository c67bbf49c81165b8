"""The one ASGI application: admin, pages, health and metrics over HTTP (WebSockets join it
under /ws/ with the gateway)."""

from __future__ import annotations

import os

from channels.routing import ProtocolTypeRouter
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pipeline_project.settings.local")

django_asgi_app = get_asgi_application()

application = ProtocolTypeRouter({"http": django_asgi_app})
