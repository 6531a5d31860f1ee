"""Bodies of ``POST /v1/auth/token``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class TokenRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"tenant_id": "acme", "email": "jo@acme.example", "password": "correct horse"}
            ]
        },
    )

    tenant_id: str = Field(min_length=1, max_length=63, description="The shop's tenant id.")
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class Token(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9...",
                    "token_type": "bearer",
                    "expires_in": 3600,
                    "tenant_id": "acme",
                    "role": "analyst",
                }
            ]
        }
    )

    access_token: str = Field(description="Send as 'Authorization: Bearer <token>'.")
    token_type: str = "bearer"  # noqa: S105 - the OAuth 2 token type, not a secret
    expires_in: int = Field(description="Seconds until the token expires.")
    tenant_id: str
    role: str = Field(description="owner, analyst or viewer.")
