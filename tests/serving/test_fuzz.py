"""Hostile input: schemathesis generates requests from the API's own OpenAPI schema (valid and
invalid parameters, with a real secret key, every published table present) and none may be a
server error, and every answer must match the documented statuses and schemas."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, strategies
from hypothesis import settings as hypothesis_settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.serving.conftest import Shops

#: Generated requests per operation: about 20 operations, well under a minute in all.
EXAMPLES_PER_OPERATION = 15


def test_generated_requests_never_get_a_server_error(shops: Shops) -> None:
    app = shops.client.app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    paths = {operation.path for operation in operations}
    assert {"/v1/recommendations/{user_id}", "/v1/analytics/query", "/v1/auth/token"} <= paths
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    statuses: list[int] = []
    for operation in operations:

        @given(
            case=strategies.one_of(
                operation.as_strategy(GenerationMode.POSITIVE),
                operation.as_strategy(GenerationMode.NEGATIVE),
            )
        )
        @hypothesis_settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case: Any) -> None:
            # The generated Authorization/X-API-Key headers would replace the key: drop them.
            for header in ("authorization", "x-api-key", "Authorization", "X-API-Key"):
                (case.headers or {}).pop(header, None)
            response = case.call_and_validate(
                headers={"X-API-Key": shops.keys["shop-a"]}, checks=checks
            )
            statuses.append(response.status_code)

        fuzz()
    assert len(statuses) >= len(operations) * EXAMPLES_PER_OPERATION // 2
    assert any(s == 200 for s in statuses) and any(s == 422 for s in statuses)
