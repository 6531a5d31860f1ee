"""Who is signed in to the dashboards, and what their role lets them do.

A person signs in with the tenant id, email and password of an ``intellishop users`` account
(:class:`intellishop.users.UserRegistry`); the dashboards then show that tenant only. The
signed-in user lives in ``st.session_state`` (per browser tab, on the server), so nothing a
browser sends after sign-in can name another tenant.

For the demo, ``INTELLISHOP_DASHBOARDS_DEMO_LOGIN=<tenant_id>:<email>`` signs in that existing,
enabled account without a password: never set it on a server reachable by others.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import streamlit as st

from intellishop.settings import get_settings
from intellishop.tenants import TenantRegistry
from intellishop.users import DashboardUser, Role, UserRegistry

#: Session key of the signed-in user.
USER_KEY = "signed_in_user"
#: Set by signing out, so the demo preset does not sign the user straight back in.
SIGNED_OUT_KEY = "signed_out"
#: The demo's password-less sign-in (``tenant_id:email`` of an existing user).
DEMO_LOGIN_VARIABLE = "INTELLISHOP_DASHBOARDS_DEMO_LOGIN"


@dataclass(frozen=True)
class SignedIn:
    """The person using this browser tab: their tenant, email and role."""

    tenant_id: str
    email: str
    role: Role

    @property
    def can_build(self) -> bool:
        """Analysts and owners save segments, rules and report schedules; viewers only read."""
        return self.role in ("owner", "analyst")

    @property
    def sees_people(self) -> bool:
        """Person-level data (profiles, segment members) is for analysts and owners."""
        return self.role in ("owner", "analyst")


def _users() -> UserRegistry | None:
    path = get_settings().tenants_db_path
    if not path.exists():  # opening the registry would create it
        return None
    return UserRegistry(TenantRegistry(path))


def sign_in(tenant_id: str, email: str, password: str) -> SignedIn | None:
    """Check the password (scrypt, about 50 ms) and remember the user; None if wrong."""
    users = _users()
    if users is None:
        return None
    user = users.authenticate(tenant_id.strip(), email, password)
    if user is None:
        return None
    return _remember(user)


def _remember(user: DashboardUser) -> SignedIn:
    signed = SignedIn(user.tenant_id, user.email, user.role)
    st.session_state.pop(SIGNED_OUT_KEY, None)
    st.session_state[USER_KEY] = signed
    return signed


def _demo_user() -> SignedIn | None:
    if st.session_state.get(SIGNED_OUT_KEY):  # signing out must stick, even in the demo
        return None
    preset = os.environ.get(DEMO_LOGIN_VARIABLE, "")
    tenant_id, _, email = preset.partition(":")
    users = _users()
    if not tenant_id or not email or users is None:
        return None
    user = users.get(tenant_id, email.strip().lower())
    tenant = users.tenants.get(tenant_id)
    if user is None or user.disabled or tenant is None or tenant.disabled:
        return None
    return _remember(user)


def current_user() -> SignedIn | None:
    """The signed-in user of this session (or the demo preset), else None."""
    user = st.session_state.get(USER_KEY)
    if isinstance(user, SignedIn):
        return user
    return _demo_user()


def sign_out() -> None:
    """Forget the user and everything chosen in this session (filters, shop)."""
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    st.session_state[SIGNED_OUT_KEY] = True
