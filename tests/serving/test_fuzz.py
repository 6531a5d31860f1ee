"""Hostile input: schemathesis generates requests from the API's own OpenAPI schema (valid and
invalid parameters, with a real secret key, every published table present) and none may be a
server error, and every answer must match the documented statuses and schemas."""

from __future__ import annotations

from tests.fuzzing import fuzz_operation, schema_operations
from tests.serving.conftest import Shops

#: Generated requests per operation: about 20 operations, well under a minute in all.
EXAMPLES_PER_OPERATION = 15


def test_generated_requests_never_get_a_server_error(shops: Shops) -> None:
    operations = schema_operations(shops.client.app)
    paths = {operation.path for operation in operations}
    assert {"/v1/recommendations/{user_id}", "/v1/analytics/query", "/v1/auth/token"} <= paths
    statuses: list[int] = []
    for operation in operations:
        statuses += fuzz_operation(
            operation, api_key=shops.keys["shop-a"], examples=EXAMPLES_PER_OPERATION
        )
    assert len(statuses) >= len(operations) * EXAMPLES_PER_OPERATION // 2
    assert any(s == 200 for s in statuses) and any(s == 422 for s in statuses)
