"""schemathesis against the OpenAPI schema the server publishes: whatever it generates from the
schema, for every operation, no answer is a 5xx and every answer matches the schema (#13)."""

from __future__ import annotations

import contextlib
import importlib
import pkgutil

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from tests.gateway.http.conftest import Api


def _import_all() -> None:
    """Import every module of schemathesis now, at collection. It imports much of itself on
    first use, and pytest rewrites those modules as they come (ast.parse); inside a Hypothesis
    test, whose raised recursion limit CPython 3.11.7's ast.parse mishandles ("AST constructor
    recursion depth mismatch", fixed in 3.11.8), that failed the test now and then."""
    for module in pkgutil.walk_packages(schemathesis.__path__, "schemathesis."):
        with contextlib.suppress(Exception):  # an optional extra's module may not import
            importlib.import_module(module.name)


_import_all()

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


def test_the_api_keeps_to_its_schema(api: Api) -> None:
    api.desk.send("cy@customer.test", "support@example.com", "It broke.", subject="Broken")
    schema = schemathesis.openapi.from_url(f"{api.url}/api/v1/openapi.json")
    headers = {"Authorization": f"Bearer {api.tokens['sue']}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=api.url, headers=headers, checks=CHECKS)

        run()
