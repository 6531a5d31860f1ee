"""Tenants and their API keys: the one place that knows who a key belongs to.

Keys are random 32-byte tokens shown once at creation. Only their SHA-256 digest is stored: the
tokens have 256 bits of entropy, so a fast hash is enough (a slow password hash buys nothing and
would cost a millisecond per request). Locally the registry is a SQLite file beside the event log.

Every process that authenticates keys (collector workers, API workers) asks a
:class:`CachedTenantAuthenticator`: a key's tenant is remembered for ``AUTH_CACHE_SECONDS``, so a
revoked key or a disabled tenant stops working everywhere within that time, and a request costs no
database read in between. A rotated key keeps working until its grace period ends.

A key has a scope. ``full`` keys (the default, the *secret* keys of shop servers) send events and
read the whole API. ``write`` keys only send events. ``public`` keys send events and read the few
API answers a browser may show anyone (recommendations, trending, similar products). Both of the
latter are meant for web pages (the browser SDK, ``?key=`` beacons), where anyone can read them:
a shop's public key can never read its customers' profiles or its analytics.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from intellishop.plans import DEFAULT_PLAN, PlanError, get_plan
from intellishop.sqlite_wal import use_wal

TENANT_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
KEY_PREFIX = "isk_"
#: A key's public handle: the first 16 hex digits of its SHA-256 (the key itself is never kept).
KEY_ID_PATTERN = re.compile(r"^[0-9a-f]{16}$")
MAX_NAME_LENGTH = 200
MAX_ALLOWED_ORIGINS = 50
#: How long a key's tenant is remembered by :class:`CachedTenantAuthenticator`.
AUTH_CACHE_SECONDS = 5.0
_AUTH_CACHE_MAX_KEYS = 10_000

_SCHEMA = """
create table if not exists tenants (
    tenant_id   text primary key,
    name        text not null,
    timezone    text not null default 'UTC',
    currency    text not null default 'USD',
    created_at  text not null,
    disabled    integer not null default 0,
    plan        text not null default 'starter',
    allowed_origins text not null default '',
    store_ip    integer not null default 0
);
create table if not exists api_keys (
    key_hash    text primary key,
    tenant_id   text not null references tenants(tenant_id),
    key_prefix  text not null,
    created_at  text not null,
    revoked_at  text
);
create index if not exists api_keys_tenant on api_keys(tenant_id);
"""

#: What a key may do: ``full`` (send events, read the whole API: the secret key), ``write`` (send
#: events only) or ``public`` (send events, read recommendations, trending and similar products).
KEY_SCOPES = ("full", "write", "public")

#: Columns added after the first release, with their definitions: added to older databases.
_ADDED_COLUMNS = {
    "plan": "text not null default 'starter'",
    "allowed_origins": "text not null default ''",
    "store_ip": "integer not null default 0",
}
_ADDED_KEY_COLUMNS = {"scope": "text not null default 'full'"}
_TENANT_COLUMNS = (
    "tenant_id, name, timezone, currency, created_at, disabled, plan, allowed_origins, store_ip"
)


class TenantError(ValueError):
    """A tenant request that cannot be honoured (bad name, duplicate, unknown timezone)."""


class UnknownTenantError(TenantError):
    """No such tenant, or no such key for that tenant."""


@dataclass(frozen=True, slots=True)
class Tenant:
    tenant_id: str
    name: str
    timezone: str
    currency: str
    created_at: str
    disabled: bool
    #: Billing plan (starter, growth, pro, enterprise): sets the monthly event quota.
    plan: str = "starter"
    #: Origins (scheme://host[:port]) whose browsers may send events with this tenant's key.
    allowed_origins: tuple[str, ...] = ()
    #: Keep the client's raw IP address (off: only the country derived from it is kept).
    store_ip: bool = False


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    """What may be shown about a key: never the key, never its full hash."""

    key_id: str
    tenant_id: str
    prefix: str
    created_at: str
    #: When the key stops (or stopped) working; in the future during a rotation's grace period.
    revoked_at: str | None
    #: ``full`` or ``write`` (events only: the key for web pages).
    scope: str = "full"

    def active(self, now: datetime | None = None) -> bool:
        return self.revoked_at is None or datetime.fromisoformat(self.revoked_at) > (
            now or datetime.now(UTC)
        )


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def key_id_of(api_key: str) -> str:
    """The key's public handle (``keys list``, revoke, rotate): 16 hex digits of its hash."""
    return hash_key(api_key)[:16]


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:63]
    return slug


def check_tenant_id(tenant_id: str) -> str:
    if not TENANT_ID_PATTERN.match(tenant_id):
        raise TenantError(
            f"tenant id {tenant_id[:80]!r} must be 1-63 lowercase letters, digits, '-' or '_'"
        )
    return tenant_id


def check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise TenantError("tenant name must not be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise TenantError(f"tenant name is {len(name)} characters; the limit is {MAX_NAME_LENGTH}")
    if any(ord(char) < 32 or ord(char) == 127 for char in name):
        raise TenantError("tenant name must not contain control characters")
    return name


def check_timezone(timezone: str) -> str:
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise TenantError(f"unknown timezone {timezone[:80]!r}") from exc
    return timezone


def check_currency(currency: str) -> str:
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise TenantError(f"currency {currency[:20]!r} must be an ISO 4217 code such as USD")
    return currency


def check_plan(plan: str) -> str:
    try:
        return get_plan(plan).name
    except PlanError as exc:
        raise TenantError(str(exc)) from exc


def normalize_origin(origin: str) -> str:
    """``scheme://host[:port]`` in lower case, as browsers send it in the ``Origin`` header.

    Only http(s) origins with a host and nothing after it; no ``*``: a tenant names each site.
    """
    text = origin.strip().rstrip("/")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise TenantError(f"origin {origin[:100]!r} is not a valid URL") from exc
    if (
        parts.scheme.lower() not in ("http", "https")
        or not parts.hostname
        or "*" in text
        or parts.path
        or parts.query
        or parts.fragment
        or parts.username
        or parts.password
    ):
        raise TenantError(
            f"origin {origin[:100]!r} must look like https://shop.example.com[:port] "
            "(http or https, no path, no wildcard)"
        )
    scheme, host = parts.scheme.lower(), parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if (scheme, port) in (("http", 80), ("https", 443)):
        port = None  # browsers leave the default port out of the Origin header
    return f"{scheme}://{host}" + (f":{port}" if port is not None else "")


def check_origins(origins: Iterable[str]) -> tuple[str, ...]:
    normalized = tuple(dict.fromkeys(normalize_origin(origin) for origin in origins))
    if len(normalized) > MAX_ALLOWED_ORIGINS:
        raise TenantError(f"at most {MAX_ALLOWED_ORIGINS} allowed origins per tenant")
    return normalized


class TenantRegistry:
    """Tenants and hashed API keys in a SQLite database."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            con.executescript(_SCHEMA)
            present = {row[1] for row in con.execute("pragma table_info(tenants)")}
            for column, definition in _ADDED_COLUMNS.items():
                if column not in present:
                    con.execute(f"alter table tenants add column {column} {definition}")
            present = {row[1] for row in con.execute("pragma table_info(api_keys)")}
            for column, definition in _ADDED_KEY_COLUMNS.items():
                if column not in present:
                    con.execute(f"alter table api_keys add column {column} {definition}")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=30)
        try:
            use_wal(con)
            with con:
                yield con
        finally:
            con.close()

    def create(
        self,
        name: str,
        *,
        tenant_id: str | None = None,
        timezone: str = "UTC",
        currency: str = "USD",
        plan: str = DEFAULT_PLAN,
        allowed_origins: Iterable[str] = (),
        store_ip: bool = False,
    ) -> tuple[Tenant, str]:
        """Create a tenant and its first API key. Returns the tenant and the key (shown once)."""
        name = check_name(name)
        tenant_id = check_tenant_id(tenant_id or slugify(name))
        values = (
            tenant_id,
            name,
            check_timezone(timezone),
            check_currency(currency),
            datetime.now(UTC).isoformat(),
            check_plan(plan),
            " ".join(check_origins(allowed_origins)),
            int(store_ip),
        )
        with self._connect() as con:
            try:
                con.execute(
                    "insert into tenants (tenant_id, name, timezone, currency, created_at,"
                    " plan, allowed_origins, store_ip) values (?, ?, ?, ?, ?, ?, ?, ?)",
                    values,
                )
            except sqlite3.IntegrityError as exc:
                raise TenantError(f"tenant {tenant_id!r} already exists") from exc
        return self.require(tenant_id), self.create_key(tenant_id)

    def require(self, tenant_id: str) -> Tenant:
        """The tenant, or a :class:`UnknownTenantError` (after checking the id's shape)."""
        tenant = self.get(check_tenant_id(tenant_id))
        if tenant is None:
            raise UnknownTenantError(f"no tenant {tenant_id!r}")
        return tenant

    def update(
        self,
        tenant_id: str,
        *,
        name: str | None = None,
        timezone: str | None = None,
        currency: str | None = None,
        plan: str | None = None,
        allowed_origins: Iterable[str] | None = None,
        store_ip: bool | None = None,
        disabled: bool | None = None,
    ) -> Tenant:
        """Change the given fields (None leaves a field as it is); all are checked first."""
        self.require(tenant_id)
        changes: dict[str, str | int] = {}
        if name is not None:
            changes["name"] = check_name(name)
        if timezone is not None:
            changes["timezone"] = check_timezone(timezone)
        if currency is not None:
            changes["currency"] = check_currency(currency)
        if plan is not None:
            changes["plan"] = check_plan(plan)
        if allowed_origins is not None:
            changes["allowed_origins"] = " ".join(check_origins(allowed_origins))
        if store_ip is not None:
            changes["store_ip"] = int(store_ip)
        if disabled is not None:
            changes["disabled"] = int(disabled)
        if changes:
            # Column names come from the fixed keys above, never from the caller.
            assignments = ", ".join(f"{column} = ?" for column in changes)
            with self._connect() as con:
                con.execute(
                    f"update tenants set {assignments} where tenant_id = ?",
                    (*changes.values(), tenant_id),
                )
        return self.require(tenant_id)

    def set_disabled(self, tenant_id: str, disabled: bool) -> Tenant:
        """Disable (or enable again) a tenant: its keys stop working within the cache TTL."""
        return self.update(tenant_id, disabled=disabled)

    def create_key(self, tenant_id: str, *, scope: str = "full") -> str:
        """Issue a new API key for a tenant; the caller must show it now: it is not stored."""
        check_tenant_id(tenant_id)
        if scope not in KEY_SCOPES:
            raise TenantError(
                f"key scope {scope[:20]!r} must be 'full' (events and API: a secret key), "
                "'write' (events only, for web pages) or 'public' (events, recommendations, "
                "trending and similar products: for web pages)"
            )
        api_key = KEY_PREFIX + secrets.token_urlsafe(32)
        with self._connect() as con:
            if con.execute("select 1 from tenants where tenant_id = ?", (tenant_id,)).fetchone():
                con.execute(
                    "insert into api_keys (key_hash, tenant_id, key_prefix, created_at, scope)"
                    " values (?, ?, ?, ?, ?)",
                    (
                        hash_key(api_key),
                        tenant_id,
                        api_key[:8],
                        datetime.now(UTC).isoformat(),
                        scope,
                    ),
                )
            else:
                raise UnknownTenantError(f"no tenant {tenant_id!r}")
        return api_key

    def list_keys(self, tenant_id: str) -> list[ApiKeyInfo]:
        """The tenant's keys, oldest first: prefix and dates only."""
        self.require(tenant_id)
        with self._connect() as con:
            rows = con.execute(
                "select substr(key_hash, 1, 16), tenant_id, key_prefix, created_at, revoked_at,"
                " scope from api_keys where tenant_id = ? order by created_at, key_hash",
                (tenant_id,),
            ).fetchall()
        return [ApiKeyInfo(*row) for row in rows]

    def revoke_key(self, tenant_id: str, key_id: str, *, grace_seconds: float = 0.0) -> ApiKeyInfo:
        """Revoke one of the tenant's keys, now or after ``grace_seconds``.

        Scoped to ``tenant_id``: a key id of another tenant is "not found". Revoking an already
        revoked key keeps the earlier time (a grace period can be cut short, never extended).
        """
        if not KEY_ID_PATTERN.match(key_id):
            raise TenantError(f"key id {key_id[:40]!r} must be 16 hex digits (see `keys list`)")
        if not 0 <= grace_seconds <= 30 * 86400:
            raise TenantError("grace period must be between 0 and 30 days (in seconds)")
        key = self._key(tenant_id, key_id)
        revoke_at = datetime.now(UTC) + timedelta(seconds=grace_seconds)
        if key.revoked_at is not None and datetime.fromisoformat(key.revoked_at) <= revoke_at:
            return key
        with self._connect() as con:
            con.execute(
                "update api_keys set revoked_at = ? where tenant_id = ? and"
                " substr(key_hash, 1, 16) = ?",
                (revoke_at.isoformat(), tenant_id, key_id),
            )
        return self._key(tenant_id, key_id)

    def rotate_key(
        self, tenant_id: str, key_id: str, *, grace_seconds: float = 0.0
    ) -> tuple[str, ApiKeyInfo]:
        """A new key (same scope) for the tenant; the old one stops after ``grace_seconds``."""
        old = self._key(tenant_id, key_id)
        if not old.active():
            raise TenantError(f"key {key_id} is already revoked: create a new key instead")
        new_key = self.create_key(tenant_id, scope=old.scope)
        return new_key, self.revoke_key(tenant_id, key_id, grace_seconds=grace_seconds)

    def _key(self, tenant_id: str, key_id: str) -> ApiKeyInfo:
        if not KEY_ID_PATTERN.match(key_id):
            raise TenantError(f"key id {key_id[:40]!r} must be 16 hex digits (see `keys list`)")
        for key in self.list_keys(tenant_id):
            if key.key_id == key_id:
                return key
        raise UnknownTenantError(f"tenant {tenant_id!r} has no key {key_id!r}")

    def get(self, tenant_id: str) -> Tenant | None:
        with self._connect() as con:
            row = con.execute(
                f"select {_TENANT_COLUMNS} from tenants where tenant_id = ?",
                (tenant_id,),
            ).fetchone()
        return _tenant(row) if row else None

    def list(self) -> list[Tenant]:
        with self._connect() as con:
            rows = con.execute(
                f"select {_TENANT_COLUMNS} from tenants order by tenant_id"
            ).fetchall()
        return [_tenant(row) for row in rows]

    def authenticate(self, api_key: str) -> Tenant | None:
        """The enabled tenant owning this unrevoked key (of any scope), or None."""
        grant = self.authenticate_key(api_key)
        return grant.tenant if grant else None

    def authenticate_key(self, api_key: str) -> KeyGrant | None:
        """What this key may do, if it works: its enabled tenant, scope and planned end.

        A key in a rotation's grace period has ``revoked_at`` in the future and still works.
        """
        with self._connect() as con:
            columns = ", ".join(f"t.{name.strip()}" for name in _TENANT_COLUMNS.split(","))
            row = con.execute(
                f"select {columns}, k.scope, k.revoked_at from api_keys k"
                " join tenants t using (tenant_id) where k.key_hash = ? and t.disabled = 0",
                (hash_key(api_key),),
            ).fetchone()
        if row is None:
            return None
        revoked_at = datetime.fromisoformat(row[-1]) if row[-1] else None
        if revoked_at is not None and revoked_at <= datetime.now(UTC):
            return None
        return KeyGrant(tenant=_tenant(row[:-2]), scope=row[-2], stops_at=revoked_at)


@dataclass(frozen=True, slots=True)
class KeyGrant:
    """A working key: whose it is, what it may do, and when it stops (None: not planned)."""

    tenant: Tenant
    scope: str
    stops_at: datetime | None = None

    @property
    def may_read(self) -> bool:
        """Whether the key may read the whole API (only ``full``: the secret keys)."""
        return self.scope == "full"

    @property
    def may_read_public(self) -> bool:
        """Whether the key may read what a browser may show (recommendations, trending, similar)."""
        return self.scope in ("full", "public")


class CachedTenantAuthenticator:
    """API key -> enabled tenant, remembered for ``ttl_seconds`` (by the key's hash, not the key).

    The one authenticator of every service (collector and API): a revoked key, a disabled tenant
    or a changed plan or origin list takes effect within ``ttl_seconds`` in every process, and
    at once in the process that made the change if it calls :meth:`forget`. Unknown keys are
    cached too (so forged keys cost no database read), with a bound on the cache's size.
    """

    def __init__(
        self,
        registry: TenantRegistry,
        ttl_seconds: float = AUTH_CACHE_SECONDS,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.registry = registry
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._cache: dict[str, tuple[float, KeyGrant | None]] = {}
        self._lock = threading.Lock()

    def __call__(self, api_key: str) -> Tenant | None:
        """The key's tenant (any scope), or None: enough for sending events."""
        grant = self.grant(api_key)
        return grant.tenant if grant else None

    def grant(self, api_key: str) -> KeyGrant | None:
        """The key's tenant and scope, or None; remembered for at most ``ttl_seconds``."""
        digest = hash_key(api_key)
        now = self._clock()
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        grant = self.registry.authenticate_key(api_key)
        expires = now + self.ttl_seconds
        if grant is not None and grant.stops_at is not None:  # in a grace period: not beyond it
            remaining = (grant.stops_at - datetime.now(UTC)).total_seconds()
            expires = min(expires, now + max(0.0, remaining))
        with self._lock:
            if len(self._cache) >= _AUTH_CACHE_MAX_KEYS:
                self._cache.clear()
            self._cache[digest] = (expires, grant)
        return grant

    def forget(self) -> None:
        """Drop everything remembered (after a change made through this process)."""
        with self._lock:
            self._cache.clear()


def _tenant(row: tuple[str, str, str, str, str, int, str, str, int]) -> Tenant:
    return Tenant(
        tenant_id=row[0],
        name=row[1],
        timezone=row[2],
        currency=row[3],
        created_at=row[4],
        disabled=bool(row[5]),
        plan=row[6],
        allowed_origins=tuple(origin for origin in row[7].split() if origin),
        store_ip=bool(row[8]),
    )


def api_key_from_headers(
    authorization: str | None, x_api_key: str | None, query_key: str | None = None
) -> str | None:
    """The API key a request carries, the ways Segment's libraries and our SDKs send it.

    Accepted: ``Authorization: Basic base64(key:)`` (Segment: the key as user, empty password),
    ``Authorization: Bearer <key>``, ``X-API-Key: <key>``, or (collector event routes only, for
    browsers: ``navigator.sendBeacon`` cannot set headers) the ``?key=`` query parameter.
    Headers win over the query string.
    """
    if x_api_key:
        return x_api_key.strip() or None
    if authorization:
        scheme, _, credentials = authorization.partition(" ")
        scheme = scheme.lower()
        if scheme == "bearer":
            return credentials.strip() or None
        if scheme == "basic":
            import base64
            import binascii

            try:
                decoded = base64.b64decode(credentials.strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return None
            user, _, _password = decoded.partition(":")
            return user or None
        return None
    if query_key:
        return query_key.strip() or None
    return None
