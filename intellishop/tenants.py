"""Tenants and their API keys: the one place that knows who a key belongs to.

Keys are random 32-byte tokens shown once at creation. Only their SHA-256 digest is stored: the
tokens have 256 bits of entropy, so a fast hash is enough (a slow password hash buys nothing and
would cost a millisecond per request). Locally the registry is a SQLite file beside the event log.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

TENANT_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
KEY_PREFIX = "isk_"

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

#: Columns added after the first release, with their definitions: added to older databases.
_ADDED_COLUMNS = {
    "plan": "text not null default 'starter'",
    "allowed_origins": "text not null default ''",
    "store_ip": "integer not null default 0",
}
_TENANT_COLUMNS = (
    "tenant_id, name, timezone, currency, created_at, disabled, plan, allowed_origins, store_ip"
)


class TenantError(ValueError):
    """A tenant request that cannot be honoured (bad name, duplicate, unknown timezone)."""


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


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:63]
    return slug


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

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=30)
        try:
            con.execute("pragma journal_mode=wal")
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
    ) -> tuple[Tenant, str]:
        """Create a tenant and its first API key. Returns the tenant and the key (shown once)."""
        tenant_id = tenant_id or slugify(name)
        if not TENANT_ID_PATTERN.match(tenant_id):
            raise TenantError(
                f"tenant id {tenant_id!r} must be 1-63 lowercase letters, digits, '-' or '_'"
            )
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise TenantError(f"unknown timezone {timezone!r}") from exc
        if not re.fullmatch(r"[A-Z]{3}", currency):
            raise TenantError(f"currency {currency!r} must be an ISO 4217 code such as USD")
        now = datetime.now(UTC).isoformat()
        with self._connect() as con:
            try:
                con.execute(
                    "insert into tenants (tenant_id, name, timezone, currency, created_at)"
                    " values (?, ?, ?, ?, ?)",
                    (tenant_id, name, timezone, currency, now),
                )
            except sqlite3.IntegrityError as exc:
                raise TenantError(f"tenant {tenant_id!r} already exists") from exc
        return self.get(tenant_id), self.create_key(tenant_id)  # type: ignore[return-value]

    def create_key(self, tenant_id: str) -> str:
        """Issue a new API key for a tenant; the caller must show it now: it is not stored."""
        api_key = KEY_PREFIX + secrets.token_urlsafe(32)
        with self._connect() as con:
            con.execute(
                "insert into api_keys (key_hash, tenant_id, key_prefix, created_at)"
                " values (?, ?, ?, ?)",
                (hash_key(api_key), tenant_id, api_key[:8], datetime.now(UTC).isoformat()),
            )
        return api_key

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
        """The enabled tenant owning this unrevoked key, or None."""
        with self._connect() as con:
            columns = ", ".join(f"t.{name.strip()}" for name in _TENANT_COLUMNS.split(","))
            row = con.execute(
                f"select {columns} from api_keys k join tenants t using (tenant_id)"
                " where k.key_hash = ? and k.revoked_at is null and t.disabled = 0",
                (hash_key(api_key),),
            ).fetchone()
        return _tenant(row) if row else None


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


def api_key_from_headers(authorization: str | None, x_api_key: str | None) -> str | None:
    """The API key a request carries, the ways Segment's libraries and our SDKs send it.

    Accepted: ``Authorization: Basic base64(key:)`` (Segment: the key as user, empty password),
    ``Authorization: Bearer <key>``, or ``X-API-Key: <key>``.
    """
    if x_api_key:
        return x_api_key.strip() or None
    if not authorization:
        return None
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
