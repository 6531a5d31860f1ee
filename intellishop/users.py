"""Dashboard users: people of a tenant who sign in with a password and get a short-lived JWT.

API keys are for machines (shop servers, web pages); people get accounts with a role:

- ``viewer``: aggregate analytics, trending and recommendations (no person-level data);
- ``analyst``: also person-level data (customer profiles, segment members, exports);
- ``owner``: everything, including managing the tenant's users.

Passwords are hashed with scrypt (``hashlib.scrypt``, memory-hard, in the standard library: no
extra dependency), a random salt per password, and the parameters stored with the hash so they
can be raised later without invalidating old hashes. Unlike API keys (256 random bits, where
SHA-256 suffices) passwords are guessable, hence the slow hash: about 50 ms a sign-in.

Users live in the tenant registry's SQLite file (a ``dashboard_users`` table): one file per
installation holds who may do what.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, cast

from intellishop.tenants import TenantError, TenantRegistry, UnknownTenantError

Role = Literal["owner", "analyst", "viewer"]
ROLES: tuple[Role, ...] = ("owner", "analyst", "viewer")
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")

#: scrypt cost: N=2^14, r=8, p=1 takes 16 MiB and tens of milliseconds a hash.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
_SCRYPT_MAXMEM = 64 * 1024 * 1024

_SCHEMA = """
create table if not exists dashboard_users (
    tenant_id     text not null references tenants(tenant_id),
    email         text not null,
    role          text not null,
    password_hash text not null,
    created_at    text not null,
    disabled      integer not null default 0,
    primary key (tenant_id, email)
);
"""


class UserError(TenantError):
    """A user request that cannot be honoured (bad email, weak password, unknown role)."""


@dataclass(frozen=True, slots=True)
class DashboardUser:
    """What may be shown about a user: never the password hash."""

    tenant_id: str
    email: str
    role: Role
    created_at: str
    disabled: bool


def hash_password(password: str) -> str:
    """``scrypt$N$r$p$salt$digest`` (base64): self-describing, so the cost can change later."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(),
        salt=salt,
        n=SCRYPT_N,
        r=SCRYPT_R,
        p=SCRYPT_P,
        maxmem=_SCRYPT_MAXMEM,
        dklen=32,
    )
    return "$".join(
        (
            "scrypt",
            str(SCRYPT_N),
            str(SCRYPT_R),
            str(SCRYPT_P),
            base64.b64encode(salt).decode(),
            base64.b64encode(digest).decode(),
        )
    )


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored``, compared in constant time."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=_SCRYPT_MAXMEM,
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


#: Compared against when the user does not exist, so a wrong email costs as long as a wrong
#: password (no way to learn which emails have accounts from timing).
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def check_email(email: str) -> str:
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise UserError(f"email {email[:80]!r} is not an email address")
    return email


def check_role(role: str) -> Role:
    if role not in ROLES:
        raise UserError(f"role {role[:20]!r} must be one of {', '.join(ROLES)}")
    return cast(Role, role)


def check_password(password: str) -> str:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise UserError(
            f"a password needs {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters"
        )
    return password


class UserRegistry:
    """Dashboard users per tenant, in the tenant registry's database."""

    def __init__(self, tenants: TenantRegistry) -> None:
        self.tenants = tenants
        self.path: Path = tenants.path
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

    def create(self, tenant_id: str, email: str, password: str, role: str) -> DashboardUser:
        """Add a user to an existing tenant; emails are unique within a tenant."""
        self.tenants.require(tenant_id)
        values = (
            tenant_id,
            check_email(email),
            check_role(role),
            hash_password(check_password(password)),
            datetime.now(UTC).isoformat(),
        )
        with self._connect() as con:
            try:
                con.execute(
                    "insert into dashboard_users (tenant_id, email, role, password_hash,"
                    " created_at) values (?, ?, ?, ?, ?)",
                    values,
                )
            except sqlite3.IntegrityError as exc:
                raise UserError(f"{values[1]} is already a user of {tenant_id!r}") from exc
        return self.require(tenant_id, values[1])

    def get(self, tenant_id: str, email: str) -> DashboardUser | None:
        with self._connect() as con:
            row = con.execute(
                "select tenant_id, email, role, created_at, disabled from dashboard_users"
                " where tenant_id = ? and email = ?",
                (tenant_id, email.strip().lower()),
            ).fetchone()
        return _user(row) if row else None

    def require(self, tenant_id: str, email: str) -> DashboardUser:
        user = self.get(tenant_id, email)
        if user is None:
            raise UnknownTenantError(f"tenant {tenant_id!r} has no user {email[:80]!r}")
        return user

    def list(self, tenant_id: str) -> list[DashboardUser]:
        self.tenants.require(tenant_id)
        with self._connect() as con:
            rows = con.execute(
                "select tenant_id, email, role, created_at, disabled from dashboard_users"
                " where tenant_id = ? order by email",
                (tenant_id,),
            ).fetchall()
        return [_user(row) for row in rows]

    def update(
        self,
        tenant_id: str,
        email: str,
        *,
        role: str | None = None,
        password: str | None = None,
        disabled: bool | None = None,
    ) -> DashboardUser:
        """Change a user's role, password or disabled flag (None leaves it as it is)."""
        user = self.require(tenant_id, email)
        changes: dict[str, str | int] = {}
        if role is not None:
            changes["role"] = check_role(role)
        if password is not None:
            changes["password_hash"] = hash_password(check_password(password))
        if disabled is not None:
            changes["disabled"] = int(disabled)
        if changes:
            # Column names come from the fixed keys above, never from the caller.
            assignments = ", ".join(f"{column} = ?" for column in changes)
            with self._connect() as con:
                con.execute(
                    f"update dashboard_users set {assignments} where tenant_id = ? and email = ?",
                    (*changes.values(), tenant_id, user.email),
                )
        return self.require(tenant_id, user.email)

    def remove(self, tenant_id: str, email: str) -> None:
        user = self.require(tenant_id, email)
        with self._connect() as con:
            con.execute(
                "delete from dashboard_users where tenant_id = ? and email = ?",
                (tenant_id, user.email),
            )

    def authenticate(self, tenant_id: str, email: str, password: str) -> DashboardUser | None:
        """The enabled user of an enabled tenant with this password, or None.

        Costs one scrypt whether or not the user exists (see ``_DUMMY_HASH``).
        """
        with self._connect() as con:
            row = con.execute(
                "select u.tenant_id, u.email, u.role, u.created_at, u.disabled, u.password_hash"
                " from dashboard_users u join tenants t using (tenant_id)"
                " where u.tenant_id = ? and u.email = ? and t.disabled = 0",
                (tenant_id, email.strip().lower()),
            ).fetchone()
        stored = row[5] if row else _DUMMY_HASH
        matches = verify_password(password[:MAX_PASSWORD_LENGTH], stored)
        if row is None or not matches or row[4]:
            return None
        return _user(row[:5])


def _user(row: tuple[str, str, str, str, int]) -> DashboardUser:
    return DashboardUser(
        tenant_id=row[0],
        email=row[1],
        role=check_role(row[2]),
        created_at=row[3],
        disabled=bool(row[4]),
    )
