"""Secrets never reach a log line: URL query values, URL passwords and bearer tokens are masked in
whatever a logger prints, the exception text included; uvicorn's loggers print through ours; no
traceback prints local variables; a client's error is one line."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from apps.core.redaction import redact
from apps.core.structured_logging import OneLineClientErrors, logging_config

SECRET = "s3cr3t-T0ken_value"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (f'127.0.0.1:5 - "GET /ws/trades?token={SECRET} HTTP/1.1" 403', '"GET /ws/trades?token=*** HTTP/1.1" 403'),
        (f"<ASGIRequest: GET '/api/ticks?symbol=ES&token={SECRET}'>", "'/api/ticks?symbol=***&token=***'"),
        (f"https://bucket.s3/x.json?X-Amz-Credential=AK%2F1&X-Amz-Signature={SECRET}", "x.json?X-Amz-Credential=***"),
        (f"redis://:{SECRET}@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
        (f"postgres://app:{SECRET}@db:5432/pipeline", "postgres://app:***@db:5432/pipeline"),
        (f"Authorization: Bearer {SECRET}", "Authorization: Bearer ***"),
        (f"offered pipeline.v1, token.{SECRET}", "offered pipeline.v1, token.***"),
    ],
)
def test_secrets_in_text_are_masked(text: str, shown: str) -> None:
    redacted = redact(text)
    assert SECRET not in redacted
    assert shown in redacted
    assert redact(redacted) == redacted


def test_text_without_secrets_is_left_alone() -> None:
    for text in ("typo? foo=bar", "https://api.gex.bot/v2/hist/ES?noredirect", "apps/accounts/api_token.py", ""):
        assert redact(text) == text


@pytest.fixture(params=["console", "json"])
def fmt(request: Any) -> str:
    return str(request.param)


def _capture(fmt: str, name: str) -> tuple[logging.Logger, io.StringIO, logging.Handler]:
    """A logger printing through the platform's handler setup (formatter, filter) into a buffer."""
    spec = dict(logging_config(level="INFO", fmt=fmt)["formatters"]["structured"])
    factory = spec.pop("()")
    handler = logging.StreamHandler(stream := io.StringIO())
    handler.setFormatter(factory(**spec))
    handler.addFilter(OneLineClientErrors())
    logger = logging.getLogger(name)
    logger.addHandler(handler)
    logger.propagate = False
    return logger, stream, handler


@pytest.fixture
def captured(fmt: str) -> Iterator[tuple[logging.Logger, io.StringIO]]:
    logger, stream, handler = _capture(fmt, f"tests.redaction.{fmt}")
    yield logger, stream
    logger.removeHandler(handler)
    logger.propagate = True


def _fail_with_a_local(url: str) -> None:
    password_local = "local-secret-9931"
    raise RuntimeError(f"cannot reach {url} ({len(password_local)})")


def test_a_traceback_shows_no_local_variables(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    try:
        _fail_with_a_local("http://h/x")
    except RuntimeError:
        logger.exception("failed")
    text = stream.getvalue()
    assert "_fail_with_a_local" in text
    assert "cannot reach" in text
    assert "local-secret-9931" not in text


def test_a_client_error_is_one_line(fmt: str) -> None:
    logger, stream, handler = _capture(fmt, "django.security.DisallowedHost")
    try:
        raise ValueError("Invalid HTTP_HOST header: 'evil.example'.")
    except ValueError as error:
        logger.error(str(error), exc_info=error, extra={"status_code": 400, "request": "<ASGIRequest: GET '/'>"})
    logger.removeHandler(handler)
    logger.propagate = True
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    assert "Invalid HTTP_HOST header" in lines[0]


def test_every_log_line_is_redacted_fields_and_tracebacks_included(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = captured
    logger.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:1", "GET", f"/ws/trades?token={SECRET}", "1.1", 403)
    logger.warning("Not Found: /api/x", extra={"request": f"<ASGIRequest: GET '/api/x?token={SECRET}'>"})
    try:
        raise RuntimeError(f"403 for url 'https://s3.example/h.json?X-Amz-Signature={SECRET}'")
    except RuntimeError:
        logger.exception("download failed")
    text = stream.getvalue()
    assert "token=***" in text
    assert "X-Amz-Signature=***" in text
    assert SECRET not in text


def test_uvicorn_logs_through_the_redacting_handler() -> None:
    config = logging_config(level="INFO", fmt="console")
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        assert config["loggers"][name]["handlers"] == ["console"]
        assert config["loggers"][name]["propagate"] is False
