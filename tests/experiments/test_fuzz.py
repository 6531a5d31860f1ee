"""schemathesis against the experiments endpoints: generated valid and invalid requests (with a
real secret key, an experiment present) never get a server error, and every answer is one the
OpenAPI schema documents, with the documented body."""

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

from .conftest import BODY, Api

#: Generated requests per operation: 10 operations, a few seconds in all.
EXAMPLES_PER_OPERATION = 12


def test_generated_requests_never_get_a_server_error(api: Api) -> None:
    assert api.call("POST", "", json=BODY).status_code == 201
    assert api.call("POST", "/recs-als/start").status_code == 200
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.client.app)
    operations = [
        result.ok()  # type: ignore[union-attr]
        for result in schema.get_all_operations()
        if result.ok().path.startswith("/v1/experiments")  # type: ignore[union-attr]
    ]
    assert len(operations) == 10
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
            for header in ("authorization", "x-api-key", "Authorization", "X-API-Key"):
                (case.headers or {}).pop(header, None)
            response = case.call_and_validate(
                headers={"X-API-Key": api.keys["shop-a"]}, checks=checks
            )
            statuses.append(response.status_code)

        fuzz()
    assert len(statuses) >= len(operations) * EXAMPLES_PER_OPERATION // 2
    assert {200, 422} <= set(statuses)
