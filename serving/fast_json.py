"""JSON answers of the hot routes, encoded by msgspec instead of validated twice by pydantic.

Recommendations, similar products and trending are called on every shop page view, so their
bodies (plain dicts and lists built by ``serving.catalog``) go straight to msgspec, which is
several times cheaper than building pydantic models and serializing them again. The pydantic
models stay the documented ``response_model`` (OpenAPI, examples), and the schemathesis test
checks every answer against them.
"""

from __future__ import annotations

from typing import Any

import msgspec
from fastapi import Response

_encoder = msgspec.json.Encoder()


def json_response(body: dict[str, Any]) -> Response:
    return Response(_encoder.encode(body), media_type="application/json")
