"""Who is calling and what they may read: API keys by scope, dashboard users by role.

Two kinds of caller, one answer (a :class:`Principal`: the tenant and the access it holds):

- **API keys** (``intellishop.tenants``), sent the ways the collector accepts them. A ``full``
  key is the shop's *secret* key: everything. A ``public`` key may sit in a web page, so it reads
  only what the page would show anyone anyway: recommendations, trending and similar products.
  A ``write`` key (events only) is refused with a 403.
- **Dashboard users** (``intellishop.users``) sign in at ``POST /v1/auth/token`` and send the JWT
  as ``Authorization: Bearer <jwt>``. The token is signed with HS256 and a server secret, lives
  ``TOKEN_TTL_SECONDS`` and names the tenant and role; the user is also re-checked (still there,
  still enabled, same role) at most every ``USER_CACHE_SECONDS``, so removing a user takes
  effect within seconds, not at the token's expiry.

Each route asks for one :class:`Access` level; the tenant always comes from the credential,
never from the path or the body.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import jwt

from intellishop.settings import Settings
from intellishop.tenants import CachedTenantAuthenticator, Tenant, TenantRegistry
from intellishop.users import DashboardUser, Role, UserRegistry

#: The signing secret while ``Settings.jwt_secret`` is unset; the prod profile refuses it.
TOKEN_TTL_SECONDS = 3600
USER_CACHE_SECONDS = 5.0
JWT_ALGORITHM = "HS256"
JWT_ISSUER = "intellishop"


class Access(StrEnum):
    """What a route reads, from least to most sensitive."""

    #: Product lists a web page shows anyone: recommendations, trending, similar products.
    PUBLIC = "public"
    #: Aggregates: daily metrics, funnel, cohorts, segments summary, forecasts, live numbers.
    ANALYTICS = "analytics"
    #: Person-level data: customer profiles, segment members, exports.
    CUSTOMERS = "customers"
    #: Administration: the tenant's dashboard users.
    ADMIN = "admin"


_EVERYTHING = frozenset(Access)
#: What each API key scope grants (``write`` keys: nothing here).
SCOPE_ACCESS: dict[str, frozenset[Access]] = {
    "full": _EVERYTHING,
    "public": frozenset({Access.PUBLIC}),
    "write": frozenset(),
}
#: What each dashboard role grants.
ROLE_ACCESS: dict[Role, frozenset[Access]] = {
    "owner": _EVERYTHING,
    "analyst": frozenset({Access.PUBLIC, Access.ANALYTICS, Access.CUSTOMERS}),
    "viewer": frozenset({Access.PUBLIC, Access.ANALYTICS}),
}


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: whose data it reads and how much of it."""

    tenant: Tenant
    #: ``key:<scope>`` or ``user:<email>`` (for logs; never the key itself).
    subject: str
    access: frozenset[Access]

    def may(self, access: Access) -> bool:
        return access in self.access


def jwt_secret(settings: Settings) -> str:
    """The token signing secret: ``INTELLISHOP_JWT_SECRET`` (``Settings.jwt_secret``)."""
    return settings.jwt_secret


class AuthenticationError(Exception):
    """No usable credential: a 401 with this message."""


class Authenticator:
    """Credentials -> :class:`Principal`, cached so a request costs no database read."""

    def __init__(
        self,
        registry: TenantRegistry,
        *,
        secret: str,
        key_cache_seconds: float | None = None,
        user_cache_seconds: float = USER_CACHE_SECONDS,
        token_ttl_seconds: int = TOKEN_TTL_SECONDS,
    ) -> None:
        self.registry = registry
        self.users = UserRegistry(registry)
        self.keys = (
            CachedTenantAuthenticator(registry)
            if key_cache_seconds is None
            else CachedTenantAuthenticator(registry, ttl_seconds=key_cache_seconds)
        )
        self.secret = secret
        self.token_ttl_seconds = token_ttl_seconds
        self.user_cache_seconds = user_cache_seconds
        self._users: dict[tuple[str, str], tuple[float, DashboardUser | None, Tenant | None]] = {}
        self._lock = threading.Lock()

    # API keys -------------------------------------------------------------------------------

    def from_key(self, api_key: str) -> Principal | None:
        grant = self.keys.grant(api_key)
        if grant is None:
            return None
        return Principal(
            grant.tenant, f"key:{grant.scope}", SCOPE_ACCESS.get(grant.scope, frozenset())
        )

    # dashboard users ------------------------------------------------------------------------

    def issue_token(self, user: DashboardUser) -> tuple[str, int]:
        """A signed token for a user who just proved their password; (token, seconds valid)."""
        now = datetime.now(UTC)
        claims = {
            "iss": JWT_ISSUER,
            "sub": user.email,
            "tid": user.tenant_id,
            "role": user.role,
            "iat": now,
            "exp": now + timedelta(seconds=self.token_ttl_seconds),
        }
        return jwt.encode(claims, self.secret, algorithm=JWT_ALGORITHM), self.token_ttl_seconds

    def from_token(self, token: str) -> Principal | None:
        """The signed-in user's principal, or None for a bad, expired or outdated token."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self.secret,
                algorithms=[JWT_ALGORITHM],
                issuer=JWT_ISSUER,
                options={"require": ["exp", "iat", "sub", "tid", "role"]},
            )
        except jwt.PyJWTError:
            return None
        user, tenant = self._user(str(claims["tid"]), str(claims["sub"]))
        # A role changed since the token was issued: the token is stale, sign in again.
        if user is None or tenant is None or user.disabled or user.role != claims["role"]:
            return None
        return Principal(tenant, f"user:{user.email}", ROLE_ACCESS[user.role])

    def _user(self, tenant_id: str, email: str) -> tuple[DashboardUser | None, Tenant | None]:
        now = time.monotonic()
        cached = self._users.get((tenant_id, email))
        if cached is not None and cached[0] > now:
            return cached[1], cached[2]
        user = self.users.get(tenant_id, email)
        tenant = self.registry.get(tenant_id)
        if tenant is not None and tenant.disabled:
            tenant = None
        with self._lock:
            if len(self._users) > 10_000:
                self._users.clear()
            self._users[(tenant_id, email)] = (now + self.user_cache_seconds, user, tenant)
        return user, tenant

    def resolve(self, credential: str) -> Principal | None:
        """A key or a JWT (three dot-separated parts; keys never contain a dot)."""
        if credential.count(".") == 2:
            return self.from_token(credential)
        return self.from_key(credential)
