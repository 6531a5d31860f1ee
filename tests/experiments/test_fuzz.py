"""schemathesis against the experiments endpoints: generated valid and invalid requests (with a
real secret key, an experiment present) never get a server error, and every answer is one the
OpenAPI schema documents, with the documented body."""

from __future__ import annotations

from tests.fuzzing import fuzz_operation, schema_operations

from .conftest import BODY, Api

#: Generated requests per operation: 10 operations, a few seconds in all.
EXAMPLES_PER_OPERATION = 12


def test_generated_requests_never_get_a_server_error(api: Api) -> None:
    assert api.call("POST", "", json=BODY).status_code == 201
    assert api.call("POST", "/recs-als/start").status_code == 200
    operations = [
        operation
        for operation in schema_operations(api.client.app)
        if operation.path.startswith("/v1/experiments")
    ]
    assert len(operations) == 10
    statuses: list[int] = []
    for operation in operations:
        statuses += fuzz_operation(
            operation, api_key=api.keys["shop-a"], examples=EXAMPLES_PER_OPERATION
        )
    assert len(statuses) >= len(operations) * EXAMPLES_PER_OPERATION // 2
    assert {200, 422} <= set(statuses)
