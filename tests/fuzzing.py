"""Fuzzing an app from its own OpenAPI schema: the collector, the API and the experiments tests.

One place so that the three hold every operation to the same bar (never a server error; every
answer a documented status, content type and body) with the same reproducible generation (valid
and invalid requests, derandomized, no example database left on disk), and a change of bar or of
schemathesis' API is made once.
"""

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
from schemathesis.schemas import APIOperation, BaseSchema

#: One operation of the schema (its parameter, response and schema types do not matter here).
Operation = APIOperation[Any, Any, Any, Any]

#: What every generated and hand-built request must pass.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

#: Generated key headers, dropped when the test's own key must be the one sent.
KEY_HEADERS = ("authorization", "x-api-key", "Authorization", "X-API-Key")


def schema_operations(app: Any, *, tag: str | None = None) -> list[Operation]:
    """The app's operations as its /openapi.json documents them (only those tagged `tag`)."""
    schema: BaseSchema = schemathesis.openapi.from_asgi("/openapi.json", app)
    if tag is not None:
        schema = schema.include(tag=tag)
    return [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]


def call_and_check(case: Any, api_key: str) -> int:
    """Send one case with the tenant's key under `CHECKS`; its status code."""
    status: int = case.call_and_validate(headers={"X-API-Key": api_key}, checks=CHECKS).status_code
    return status


def fuzz_operation(
    operation: Operation, *, api_key: str, examples: int, keep_generated_keys: bool = False
) -> list[int]:
    """`examples` generated requests, valid and invalid, each under `CHECKS`; their statuses.

    Generated Authorization/X-API-Key headers would replace `api_key` and turn most requests
    into 401s; they are dropped unless `keep_generated_keys`.
    """
    statuses: list[int] = []

    @given(
        case=strategies.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        )
    )
    @hypothesis_settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case: Any) -> None:
        if not keep_generated_keys:
            for header in KEY_HEADERS:
                (case.headers or {}).pop(header, None)
        statuses.append(call_and_check(case, api_key))

    fuzz()
    return statuses
