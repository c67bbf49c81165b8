"""Structured logging, configured once from settings: key=value on a console, JSON in production.

Both structlog loggers and the standard library's (Django, Celery) render through the same
processor chain, so every line carries a timestamp, level, logger and the event's fields.
"""

from __future__ import annotations

from typing import Any

import orjson
import structlog

_SHARED: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.processors.StackInfoRenderer(),
]


def _renderer(fmt: str) -> Any:
    if fmt == "json":
        return structlog.processors.JSONRenderer(serializer=lambda obj, **_: orjson.dumps(obj).decode())
    return structlog.dev.ConsoleRenderer(colors=False)


def configure_structlog(*, fmt: str) -> None:
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_SHARED,
            structlog.processors.format_exc_info,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def logging_config(*, level: str, fmt: str) -> dict[str, Any]:
    """A `LOGGING` dict for Django's dictConfig."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structured": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    _renderer(fmt),
                ],
                "foreign_pre_chain": [*_SHARED, structlog.stdlib.ExtraAdder()],
            },
        },
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "structured"},
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "INFO"},
            "asyncio": {"level": "WARNING"},
        },
    }
