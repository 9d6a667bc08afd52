"""A bounded schemathesis run against the OpenAPI document: requests generated from the document
for every operation, sent with a teacher's token (so writes are tried too). No response may be a
500, and every response (status, content type, body) must match the document. A documented 422
for schema-valid input is allowed: the document cannot express every rule (file contents, school
codes that exist, states in which a material may be edited), and the 422 says which one.

(Schemathesis' pytest plugin does not work with pytest 9, so the operations are walked here and
each one is driven by its Hypothesis strategy.)"""
from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.api.helpers import bearer, token_for

EXAMPLES = 15


@pytest.fixture
def app_overrides() -> dict[str, Any]:
    # Rate limits would answer most generated requests with 429 and hide what they test.
    return {"API_RATE_LIMIT": "100000 per minute", "API_IP_RATE_LIMIT": "100000 per minute"}


class FreshContext:
    """Each request in its own app context, as in production (the test holds one open, and a
    request would otherwise share its `g`, and so its signed-in user, with the next request)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        with self.app.app_context():
            return self.app(environ, start_response)


def test_every_operation_matches_the_document(app: Any, world: dict[str, Any]) -> None:
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", FreshContext(app))
    headers = bearer(token_for(world["teacher"]))
    checked = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case: Any) -> None:
            # On the case itself, so that the auth probes (a request without it) can take it away.
            case.headers = {**(case.headers or {}), **headers}
            case.call_and_validate(excluded_checks=[positive_data_acceptance])

        check()
        checked.append(operation.label)
    # Schemathesis leaves out the operation that serves the document itself.
    operations = [m for path, item in document["paths"].items() if path != "/openapi.json"
                  for m in item if m != "parameters"]
    assert len(checked) == len(operations) >= 11, checked
