"""What a process checks before it starts work, beyond the variables `pipeline_project/env.py`
validated: the directories it writes are writable directories, and Redis will not hand a running
task to a second worker. Registered as Django system checks, so `manage.py check`, `config check`,
`runserver` and every management command (the streamers' too) run them; the Celery worker
(`celery_hooks`) and the ASGI web process run them at start through `refuse_to_start`."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks

from pipeline_project.env import ConfigProblem, exit_for


def directory_problem(*, variable: str, path: Path) -> ConfigProblem | None:
    """A problem naming `variable` unless `path` is (or can be made) a directory this process writes."""
    if path.exists() and not path.is_dir():
        return ConfigProblem(variable, f"{path} is a file, not a directory")
    try:
        # The directory is created now, as the first write would, so that start-up is the test.
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".startup-check-"):
            pass
    except OSError as error:
        return ConfigProblem(variable, f"{path} is not a writable directory: {error.strerror or error}")
    return None


def longest_task_time_limit(*, app: Any) -> tuple[float, str]:
    """The longest hard time limit of any task the Celery `app` has registered, and its task's name."""
    from django.utils.module_loading import autodiscover_modules

    # The worker imports every app's tasks module; other processes have not, so import them here.
    autodiscover_modules("tasks")
    default = float(app.conf.task_time_limit or 0)
    limits = [(float(task.time_limit or default), name) for name, task in app.tasks.items()]
    return max([(default, "(the default, CELERY_TASK_TIME_LIMIT)"), *limits])


def visibility_timeout_problem(*, app: Any) -> ConfigProblem | None:
    """A problem naming CELERY_VISIBILITY_TIMEOUT_SECONDS unless it exceeds every task's time limit:
    Redis hands an unacknowledged task to another worker after that long, while the first one
    may still be running it."""
    timeout = float(app.conf.broker_transport_options.get("visibility_timeout", 3600))
    limit, name = longest_task_time_limit(app=app)
    if timeout <= limit:
        return ConfigProblem(
            "CELERY_VISIBILITY_TIMEOUT_SECONDS",
            f"{timeout:g} s must exceed the longest task time limit, {limit:g} s ({name}), "
            "or Redis hands a task still running to a second worker",
        )
    return None


def startup_problems() -> list[ConfigProblem]:
    from celery import current_app

    found = [
        directory_problem(variable="LAKE_DIR", path=Path(settings.LAKE_DIR)),
        directory_problem(variable="SIERRA_CHART_DIR", path=Path(settings.SIERRA_CHART_DIR)),
        visibility_timeout_problem(app=current_app),
    ]
    return [problem for problem in found if problem is not None]


@checks.register("pipeline")
def _startup_check(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> Iterable[checks.CheckMessage]:
    return [checks.Error(problem.message, obj=problem.variable, id="core.E001") for problem in startup_problems()]


def refuse_to_start() -> None:
    """Run every system check, as `manage.py check` does; on an error print one line each and exit 2.

    For processes Django does not check by itself: the Celery worker and the ASGI web server.
    """
    errors = [message for message in checks.run_checks() if message.is_serious()]
    if errors:
        exit_for([ConfigProblem(str(message.obj or message.id), message.msg) for message in errors])
