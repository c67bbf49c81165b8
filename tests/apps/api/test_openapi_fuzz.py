"""Schemathesis over the API's OpenAPI document: generated requests (valid and invalid) against
every operation, signed in as staff, through the real WSGI application, Redis and database. No
answer may be a 5xx, and every answer must be one the schema documents, in its documented shape."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from apps.api.urls import api
from tests.apps.api.conftest import Caller

pytestmark = pytest.mark.django_db
EXAMPLES_PER_OPERATION = 15

# The document as the API serves it (test_the_served_document_is_the_one_fuzzed checks they agree).
schema = schemathesis.openapi.from_dict(json.loads(json.dumps(api.get_openapi_schema())))
schema.app = get_wsgi_application()


@pytest.fixture(autouse=True)
def _keep_the_test_connection() -> Iterator[None]:
    # As Django's test client does: a request must not close the connection holding the test's
    # transaction.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def test_the_served_document_is_the_one_fuzzed() -> None:
    served = Client().get("/api/openapi.json")
    assert served.status_code == 200
    assert served.json() == schema.raw_schema
    assert served.json()["info"]["title"] == "data-pipeline"
    assert len(served.json()["paths"]) == 20


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_the_api_answers_generated_requests_as_documented(case: Any, staff: Caller) -> None:
    # Every default check but one: a request the schema allows may still be refused with a 422
    # naming the field when it breaks a rule a schema cannot say (a symbol that is no contract,
    # a range longer than the limit, an end before the start).
    case.call_and_validate(
        headers={"Authorization": f"Bearer {staff.secret}"}, excluded_checks=[positive_data_acceptance]
    )


def test_the_docs_page_serves_swagger_from_our_own_static_files() -> None:
    page = Client().get("/api/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    assert Client().get("/static/ninja/swagger-ui-bundle.js").status_code == 200
