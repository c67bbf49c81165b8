"""The Celery app: broker and result backend on Redis, one queue per workload."""

from __future__ import annotations

import os
from logging.config import dictConfig
from typing import Any

from celery import Celery
from celery.signals import setup_logging
from kombu import Queue as KombuQueue

from apps.core.queues import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pipeline_project.settings.local")

app = Celery("pipeline_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [KombuQueue(name, routing_key=name) for name in Queue.all_names()]
app.autodiscover_tasks()


@setup_logging.connect
def _use_django_logging(**kwargs: Any) -> None:
    from django.conf import settings

    dictConfig(settings.LOGGING)
