"""Dashboard sign-in: email and password in, a short-lived JWT out."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status

from ..auth import Authenticator
from ..schemas import Token, TokenRequest

router = APIRouter(prefix="/v1/auth", tags=["auth"])


@router.post(
    "/token",
    summary="Sign a dashboard user in",
    description="Checks the user's password (scrypt) and returns a JWT naming the tenant and "
    "role, valid for `expires_in` seconds. Wrong tenant, email or password are one 401 (which "
    "one is not said). Users are managed with `intellishop users`.",
    responses={
        status.HTTP_400_BAD_REQUEST: {"description": "The body is not JSON."},
        status.HTTP_401_UNAUTHORIZED: {"description": "Wrong credentials."},
    },
)
def token(body: TokenRequest, request: Request) -> Token:
    authenticator: Authenticator = request.app.state.authenticator
    user = authenticator.users.authenticate(body.tenant_id, body.email, body.password)
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="wrong tenant, email or password, or the user is disabled",
            headers={"WWW-Authenticate": "Bearer"},
        )
    access_token, expires_in = authenticator.issue_token(user)
    return Token(
        access_token=access_token,
        expires_in=expires_in,
        tenant_id=user.tenant_id,
        role=user.role,
    )
