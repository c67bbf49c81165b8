"""Structured logging, configured once from settings: key=value on a console, JSON in production.

Both structlog loggers and the standard library's (Django, Celery) render through the same
processor chain, so every line carries a timestamp, level, logger and the event's fields. Every
line is redacted as the last step (apps/core/redaction.py: URL query values, URL passwords, bearer
tokens), whoever logged it: uvicorn's access log and Django's request warnings print URLs with
their query strings, and exception messages (httpx's included) quote URLs too.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
import structlog

from apps.core.redaction import redact

_SHARED: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.processors.StackInfoRenderer(),
]


def _renderers(fmt: str) -> list[Any]:
    # Tracebacks never show local variables: they hold request bodies, tokens and passwords
    # (rich's console tracebacks and structlog's dict tracebacks show them by default).
    if fmt == "json":
        return [
            structlog.processors.ExceptionRenderer(structlog.tracebacks.ExceptionDictTransformer(show_locals=False)),
            structlog.processors.JSONRenderer(serializer=lambda obj, **_: orjson.dumps(obj, default=str).decode()),
        ]
    return [structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback)]


class OneLineClientErrors(logging.Filter):
    """A client's mistake (a bad Host header, a body over the limit, any SuspiciousOperation, any
    4xx) is one log line: the traceback of where Django noticed it says nothing about the caller."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        client_error = record.name.startswith("django.security") or (isinstance(status, int) and 400 <= status < 500)
        if client_error and record.exc_info:
            record.exc_info = None
            record.exc_text = None
        return True


class RedactingFormatter(structlog.stdlib.ProcessorFormatter):
    """structlog's formatter for standard-library handlers, with secrets masked in the final text
    (traceback included), so no logger and no field can bypass it."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


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
                "()": RedactingFormatter,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    *_renderers(fmt),
                ],
                "foreign_pre_chain": [*_SHARED, structlog.stdlib.ExtraAdder()],
            },
        },
        "filters": {"one_line_client_errors": {"()": OneLineClientErrors}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "structured",
                "filters": ["one_line_client_errors"],
            },
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "INFO"},
            "asyncio": {"level": "WARNING"},
            # Both log every request's full URL (a presigned URL's signature included) at INFO/DEBUG.
            "httpx": {"level": "WARNING"},
            "httpcore": {"level": "WARNING"},
            # uvicorn configures its own handlers before the application (and so this) loads;
            # its lines go through ours instead, redacted like every other.
            **{
                name: {"handlers": ["console"], "level": level, "propagate": False}
                for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
            },
        },
    }
