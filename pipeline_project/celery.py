"""The Celery app: broker and result backend on Redis, one queue per workload."""

from __future__ import annotations

import os
from logging.config import dictConfig
from typing import Any

from celery import Celery
from celery.signals import setup_logging
from kombu import Queue as KombuQueue

from apps.core.queues import Queue
from pipeline_project.env import exit_for, settings_module_problem

# An empty value (an env file's `DJANGO_SETTINGS_MODULE=`) means the default too.
os.environ["DJANGO_SETTINGS_MODULE"] = os.environ.get("DJANGO_SETTINGS_MODULE") or "pipeline_project.settings.local"
# Every process imports this module first (it is the package's __init__): a settings module that
# does not exist is one line here rather than an ImportError traceback later.
_settings_problem = settings_module_problem(os.environ["DJANGO_SETTINGS_MODULE"])
if _settings_problem is not None:
    exit_for([_settings_problem])

app = Celery("pipeline_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [KombuQueue(name, routing_key=name) for name in Queue.all_names()]
app.autodiscover_tasks()


@setup_logging.connect
def _use_django_logging(**kwargs: Any) -> None:
    from django.conf import settings

    dictConfig(settings.LOGGING)
