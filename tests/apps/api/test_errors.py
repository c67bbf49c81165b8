"""Errors reach the caller through one mapping: the application's errors by kind (bad input 422
naming the field, not found 404, a backend it cannot read 503), and anything else, a bug, as a
500 that is logged with its traceback instead of a 4xx that would blame the caller."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from pytest_django import Settings

from apps.core import keys
from apps.core.redis import get_redis
from tests.apps.api.conftest import Caller
from tests.apps.api.helpers import trade, write

pytestmark = pytest.mark.django_db


def test_a_corrupt_hot_store_entry_is_a_logged_500_not_a_400(reader: Caller, caplog: pytest.LogCaptureFixture) -> None:
    # An entry without its block: the hot store is wrong, not the request.
    get_redis().xadd(keys.trades("ESZ26"), {"x": "1"})
    with caplog.at_level(logging.INFO):
        response = reader.get("/api/ticks/last", symbol="ESZ26")
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error; it has been logged"}
    assert "holds no block" not in response.content.decode(), "the caller is not shown internals"
    logged = [record for record in caplog.records if "api.unhandled_error" in record.getMessage()]
    assert len(logged) == 1
    assert logged[0].levelno == logging.ERROR
    message = logged[0].getMessage()
    assert "Traceback" in message
    assert "ValueError" in message
    assert "holds no block" in message
    assert "'path': '/api/ticks/last'" in message
    request_lines = [record.getMessage() for record in caplog.records if "api.request" in record.getMessage()]
    assert len(request_lines) == 1
    assert "'status': 500" in request_lines[0]


def test_bad_input_is_422_naming_the_field(reader: Caller) -> None:
    # The cursor's form is in the schema now (its pattern), so the schema's check answers first.
    response = reader.get("/api/ticks", symbol="ESZ26", cursor="not-a-cursor")
    assert response.status_code == 422
    (detail,) = response.json()["detail"]
    assert (detail["type"], detail["loc"]) == ("string_pattern_mismatch", ["query", "cursor"])
    # A rule past the schema's (a feed the book does not know) has the same shape.
    response = reader.get("/api/depth/book", symbol="ESZ26", feed="nosuchfeed")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "feed"]


def test_what_is_not_there_is_404_with_the_reason(reader: Caller) -> None:
    response = reader.get("/api/quotes/latest", symbol="NQZ26")
    assert response.status_code == 404
    assert response.json() == {"detail": "no quote of NQZ26 in the hot store"}


def test_a_broker_whose_queues_cannot_be_read_is_503_with_the_reason(reader: Caller, settings: Settings) -> None:
    settings.CELERY_BROKER_URL = "amqp://guest@127.0.0.1:5672//"
    response = reader.get("/api/status/queues")
    assert response.status_code == 503
    assert "queue depths are read from a Redis broker, not amqp" in response.json()["detail"]


def test_a_body_over_the_upload_limit_is_413_not_a_logged_500(
    staff: Caller, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    with caplog.at_level(logging.INFO):
        response = staff.post("/api/control/purge", {"padding": "x" * 5000})
    assert response.status_code == 413
    assert "DATA_UPLOAD_MAX_MEMORY_SIZE" in response.json()["detail"]
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert not [record for record in caplog.records if record.exc_info]


def test_a_symbol_the_platform_never_heard_of_is_a_404_not_an_empty_200(reader: Caller, tmp_path: Path) -> None:
    for path in ("/api/bars", "/api/ticks/last", "/api/ticks", "/api/quotes", "/api/quotes/latest"):
        response = reader.get(path, symbol="XYZ")
        assert response.status_code == 404, (path, response.content)
        assert "no data for symbol 'XYZ'" in response.json()["detail"]
        assert "ES, NQ" in response.json()["detail"], "it says what the streamers follow"
    # A root the platform does not know, even in contract form: 404 too.
    assert reader.get("/api/bars", symbol="CLZ26").status_code == 404
    # Malformed: 422 naming the field, as before.
    assert reader.get("/api/bars", symbol="../etc").status_code == 422


def test_a_known_contract_or_a_symbol_with_stored_data_is_answered(
    reader: Caller, tmp_path: Path, settings: Settings
) -> None:
    # A contract of a known root with no trades (one far out): an empty answer, not an error.
    assert reader.get("/api/ticks/last", symbol="ESZ29").status_code == 200
    # An equity a feed streamed into the hot store.
    write([[trade(1, 450.0, symbol="SPY")]])
    assert reader.get("/api/ticks/last", symbol="SPY").json()["trades"][0]["price"] == 450.0
    # A symbol only the lake holds (an import): found by its partition.
    settings.LAKE_DIR = tmp_path
    (tmp_path / "tick_data" / "date=2026-11-20" / "symbol=QQQ").mkdir(parents=True)
    assert reader.get("/api/ticks/last", symbol="QQQ").status_code == 200
