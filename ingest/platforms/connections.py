"""Which shop platforms a tenant has connected, and the webhook secret each signs with.

The secrets live in the ``platform_connections`` table of the tenants database
(``settings.tenants_db_path``). Unlike API keys they cannot be hashed: verifying a webhook's
HMAC needs the secret itself. The database file is therefore made readable by its owner only
(mode 600) whenever a secret is written; protect its backups the same way.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from intellishop.tenants import TENANT_ID_PATTERN, TenantRegistry

Platform = Literal["shopify", "woocommerce"]
PLATFORMS: tuple[Platform, ...] = ("shopify", "woocommerce")
#: Shortest secret accepted: Shopify's are 64 hex digits, WooCommerce's 40+ characters.
MIN_SECRET_LENGTH = 16

_SCHEMA = """
create table if not exists platform_connections (
    tenant_id       text not null,
    platform        text not null,
    webhook_secret  text not null,
    created_at      text not null,
    updated_at      text not null,
    primary key (tenant_id, platform)
);
"""


class PlatformConnectionError(ValueError):
    """A connection request that cannot be honoured (unknown tenant or platform, weak secret)."""


@dataclass(frozen=True, slots=True)
class PlatformConnection:
    tenant_id: str
    platform: str
    created_at: str
    updated_at: str


def hmac_sha256_base64(secret: str, body: bytes) -> str:
    """The signature Shopify and WooCommerce send: base64 of HMAC-SHA256(secret, raw body)."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signature_is_valid(secret: str, body: bytes, signature: str | None) -> bool:
    """Constant-time check of a base64 HMAC-SHA256 signature of the raw request body."""
    if not signature:
        return False
    try:
        given = base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return hmac.compare_digest(given, expected)


class PlatformConnections:
    """The ``platform_connections`` table: one secret per (tenant, platform)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        TenantRegistry(path)  # the tenants table this one refers to exists from here on
        with self._connect() as con:
            con.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=30)
        try:
            with con:
                yield con
        finally:
            con.close()

    def connect(self, tenant_id: str, platform: str, secret: str) -> PlatformConnection:
        """Store (or rotate) the tenant's webhook secret for a platform."""
        if platform not in PLATFORMS:
            raise PlatformConnectionError(
                f"unknown platform {platform!r}: choose from {', '.join(PLATFORMS)}"
            )
        secret = secret.strip()
        if len(secret) < MIN_SECRET_LENGTH:
            raise PlatformConnectionError(
                f"the webhook secret is shorter than {MIN_SECRET_LENGTH} characters"
            )
        now = datetime.now(UTC).isoformat()
        with self._connect() as con:
            exists = con.execute(
                "select 1 from tenants where tenant_id = ?", (tenant_id,)
            ).fetchone()
            if not exists:
                raise PlatformConnectionError(f"no tenant {tenant_id!r}")
            con.execute(
                "insert into platform_connections"
                " (tenant_id, platform, webhook_secret, created_at, updated_at)"
                " values (?, ?, ?, ?, ?)"
                " on conflict (tenant_id, platform) do update"
                " set webhook_secret = excluded.webhook_secret, updated_at = excluded.updated_at",
                (tenant_id, platform, secret, now, now),
            )
        self._restrict_file_mode()
        connection = self.get(tenant_id, platform)
        assert connection is not None
        return connection

    def _restrict_file_mode(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            path = Path(f"{self.path}{suffix}")
            if path.exists():
                os.chmod(path, 0o600)

    def disconnect(self, tenant_id: str, platform: str) -> bool:
        with self._connect() as con:
            cur = con.execute(
                "delete from platform_connections where tenant_id = ? and platform = ?",
                (tenant_id, platform),
            )
        return cur.rowcount > 0

    def get(self, tenant_id: str, platform: str) -> PlatformConnection | None:
        with self._connect() as con:
            row = con.execute(
                "select tenant_id, platform, created_at, updated_at from platform_connections"
                " where tenant_id = ? and platform = ?",
                (tenant_id, platform),
            ).fetchone()
        return PlatformConnection(*row) if row else None

    def list(self, tenant_id: str | None = None) -> list[PlatformConnection]:
        query = "select tenant_id, platform, created_at, updated_at from platform_connections"
        params: tuple[str, ...] = ()
        if tenant_id is not None:
            query += " where tenant_id = ?"
            params = (tenant_id,)
        with self._connect() as con:
            rows = con.execute(query + " order by tenant_id, platform", params).fetchall()
        return [PlatformConnection(*row) for row in rows]

    def webhook_secret(self, tenant_id: str, platform: str) -> str | None:
        """The secret to verify the tenant's webhooks with; None if not connected or disabled."""
        if not TENANT_ID_PATTERN.match(tenant_id):
            return None
        with self._connect() as con:
            row = con.execute(
                "select c.webhook_secret from platform_connections c"
                " join tenants t using (tenant_id)"
                " where c.tenant_id = ? and c.platform = ? and t.disabled = 0",
                (tenant_id, platform),
            ).fetchone()
        return str(row[0]) if row else None
