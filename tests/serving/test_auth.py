"""Who may read what: key scopes, dashboard users' roles and tokens, and tenant isolation on
every route of the API (taken from its OpenAPI schema, so a new route is covered unasked)."""

from __future__ import annotations

import re
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from intellishop.artifacts import LocalArtifactStore
from intellishop.tenants import TenantRegistry
from intellishop.users import UserError, UserRegistry, hash_password, verify_password
from serving.app import create_app
from serving.auth import JWT_ALGORITHM, JWT_ISSUER
from tests.conftest import TEST_JWT_SECRET, Settings
from tests.serving.conftest import Shops
from tests.serving.published import full_shop

PASSWORD = "correct horse battery"


def _api_operations() -> list[tuple[str, str]]:
    """(method, path template) of every operation the API documents, /v1 only."""
    data_dir = Path(tempfile.mkdtemp())
    try:
        schema = create_app(Settings(data_dir=data_dir)).openapi()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return sorted(
        (method.upper(), path)
        for path, item in schema["paths"].items()
        if path.startswith("/v1/")
        for method in item
    )


OPERATIONS = _api_operations()
GET_PATHS = [path for method, path in OPERATIONS if method == "GET"]
#: What a public (browser) key may read: product lists a page shows anyone.
PUBLIC_PATHS = {
    "/v1/recommendations/{user_id}",
    "/v1/trending",
    "/v1/products/{product_id}/similar",
    "/v1/products/{product_id}/frequently-bought-together",
    "/v1/prices/{product_id}",
}
#: Where a viewer (aggregates only) is refused: person-level data.
PERSON_PATHS = {"/v1/customers/{user_id}", "/v1/segments/{segment}/members"}
#: Path parameter values that name shop-a's data; anything else gets "sam", a user of both.
FILL = {
    "user_id": "alice",
    "product_id": "a-p0",
    "segment": "champions",
    # Routes other packages add: a well-formed id nobody has, and a real export.
    "rule_id": "rule_0123456789abcdef",
    "table": "products",
    "export_format": "csv",
}
#: ... and values that exist only in shop-b (seen from shop-a they must be unknown).
FILL_B = {"user_id": "bob", "product_id": "b-p0", "segment": "loyal"}
#: An id of shop-b's data in an answer.
B_MARKER = re.compile(r"\bb-[po][0-9]")
#: Query parameters a route requires.
REQUIRED_QUERY = {
    "/v1/analytics/query": {"metric": "revenue"},
    "/v1/prices/{product_id}": {"user_id": "sam"},
}


def url(path: str, fill: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: fill.get(m.group(1), "sam"), path)


#: The routes of this package, whose exact answers this file knows; routes other packages add
#: (experiments, automations, ...) are held to the generic rules: never a 5xx, a key of the
#: wrong scope refused, and the same answer whether or not another tenant exists.
KNOWN_PATHS = {
    *PUBLIC_PATHS,
    *PERSON_PATHS,
    "/v1/segments",
    "/v1/analytics/daily",
    "/v1/analytics/funnel",
    "/v1/analytics/products",
    "/v1/analytics/cohorts",
    "/v1/analytics/query",
    "/v1/products/{product_id}/forecast",
    "/v1/products/{product_id}/reorder",
}


def test_the_schema_lists_the_routes_this_file_knows() -> None:
    assert set(GET_PATHS) >= KNOWN_PATHS


# API key scopes -----------------------------------------------------------------------------


def _needs_a_key(shops: Shops, path: str) -> bool:
    """Whether the route refuses a request without a credential (some, e.g. signed tracking
    links, authenticate otherwise)."""
    response = shops.client.get(url(path, FILL), params=REQUIRED_QUERY.get(path, {}))
    return response.status_code == 401


@pytest.mark.parametrize("path", GET_PATHS)
def test_a_public_key_reads_product_lists_only(shops: Shops, path: str) -> None:
    if not _needs_a_key(shops, path):
        pytest.skip(f"{path} takes no API key")
    response = shops.get(url(path, FILL), "shop-a-public", **REQUIRED_QUERY.get(path, {}))
    if path in PUBLIC_PATHS:
        assert response.status_code == 200, response.text
    else:
        assert response.status_code == 403, response.text
        assert "key:public may not read this" in response.json()["detail"]


@pytest.mark.parametrize("path", GET_PATHS)
def test_a_secret_key_reads_everything_and_a_write_key_nothing(shops: Shops, path: str) -> None:
    if not _needs_a_key(shops, path):
        pytest.skip(f"{path} takes no API key")
    params = REQUIRED_QUERY.get(path, {})
    status = shops.get(url(path, FILL), **params).status_code
    assert status == 200 if path in KNOWN_PATHS else status in (200, 404), (path, status)
    refused = shops.get(url(path, FILL), "shop-a-write", **params)
    assert refused.status_code == 403 and "write key" in refused.json()["detail"]


# tenant isolation ---------------------------------------------------------------------------


def _normalized(body: Any) -> Any:
    """An answer without what differs between two identical requests (ids, versions)."""
    if isinstance(body, dict):
        return {
            k: _normalized(v)
            for k, v in body.items()
            if k not in ("model_version", "recommendation_id")
        }
    if isinstance(body, list):
        return [_normalized(v) for v in body]
    return body


@pytest.mark.parametrize("path", GET_PATHS)
def test_no_route_ever_shows_another_tenants_data(shops: Shops, path: str) -> None:
    """Shop A's answers are the same whether or not shop B exists, even when A asks for B's
    users, products and segments; and nothing of B's (ids prefixed ``b-``) ever shows."""
    alone = TestClient(
        create_app(
            shops.settings,
            store=LocalArtifactStore(shops.settings.data_dir / "alone", refresh_seconds=0),
            auth_cache_seconds=0,
        )
    )
    alone.app.state.catalog.store.publish("shop-a", full_shop("a", ["alice", "sam"]))  # type: ignore[attr-defined]
    headers = {"X-API-Key": shops.keys["shop-a"]}
    params = REQUIRED_QUERY.get(path, {})
    for fill in (FILL, FILL_B):
        shared = shops.client.get(url(path, fill), params=params, headers=headers)
        own = alone.get(url(path, fill), params=params, headers=headers)
        assert shared.status_code == own.status_code, (path, fill, shared.text)
        assert shared.status_code in (200, 404) or (
            path not in KNOWN_PATHS and shared.status_code < 500
        ), shared.text
        # B's ids (b-p0, b-o1, ...) never appear, except the one A asked about, echoed in a 404.
        shown = shared.text.replace(fill["product_id"], "")
        assert not B_MARKER.search(shown) and "shop-b" not in shown, shared.text
        if shared.status_code == 200 and "json" not in shared.headers["content-type"]:
            assert shared.content == own.content  # an export: the same bytes
        elif shared.status_code == 200:
            assert _normalized(shared.json()) == _normalized(own.json())
            assert shared.json().get("tenant_id", "shop-a") == "shop-a"


def test_the_live_socket_answers_only_the_keys_tenant(shops: Shops) -> None:
    with shops.client.websocket_connect(f"/v1/live?key={shops.keys['shop-b']}") as socket:
        assert socket.receive_json()["tenant_id"] == "shop-b"


# dashboard users ----------------------------------------------------------------------------


def test_passwords_are_salted_scrypt_hashes() -> None:
    stored = hash_password(PASSWORD)
    assert stored.startswith("scrypt$") and PASSWORD not in stored
    assert stored != hash_password(PASSWORD)  # a new salt each time
    assert verify_password(PASSWORD, stored)
    assert not verify_password(PASSWORD + "!", stored)
    assert not verify_password(PASSWORD, "md5$nonsense")


def test_user_registry_checks_its_input(settings: Settings) -> None:
    tenants = TenantRegistry(settings.tenants_db_path)
    tenants.create("Shop", tenant_id="shop")
    users = UserRegistry(tenants)
    users.create("shop", "Jo@Example.com", PASSWORD, "analyst")
    assert users.require("shop", "jo@example.com").role == "analyst"
    for email, password, role, message in (
        ("jo@example.com", PASSWORD, "analyst", "already a user"),
        ("not-an-email", PASSWORD, "viewer", "not an email"),
        ("ann@example.com", "short", "viewer", "10 to"),
        ("ann@example.com", PASSWORD, "admin", "must be one of"),
    ):
        with pytest.raises(UserError, match=message):
            users.create("shop", email, password, role)
    assert users.authenticate("shop", "JO@example.com", PASSWORD) is not None
    assert users.authenticate("shop", "jo@example.com", "wrong password!") is None
    assert users.authenticate("other", "jo@example.com", PASSWORD) is None


def _sign_in(shops: Shops, tenant_id: str, email: str, password: str = PASSWORD) -> Any:
    return shops.client.post(
        "/v1/auth/token", json={"tenant_id": tenant_id, "email": email, "password": password}
    )


@pytest.fixture
def users(shops: Shops) -> UserRegistry:
    registry = UserRegistry(TenantRegistry(shops.settings.tenants_db_path))
    for role in ("owner", "analyst", "viewer"):
        registry.create("shop-a", f"{role}@a.example", PASSWORD, role)
    registry.create("shop-b", "owner@b.example", PASSWORD, "owner")
    return registry


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("role", ["owner", "analyst", "viewer"])
def test_each_role_reads_what_it_may(shops: Shops, users: UserRegistry, role: str) -> None:
    answer = _sign_in(shops, "shop-a", f"{role}@a.example")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["role"] == role and body["tenant_id"] == "shop-a" and body["expires_in"] > 0
    headers = _bearer(body["access_token"])
    for path in KNOWN_PATHS:
        response = shops.client.get(
            url(path, FILL), params=REQUIRED_QUERY.get(path, {}), headers=headers
        )
        expected = 403 if role == "viewer" and path in PERSON_PATHS else 200
        assert response.status_code == expected, (role, path, response.text)
        if expected == 200 and "tenant_id" in response.json():
            assert response.json()["tenant_id"] == "shop-a"


def test_wrong_credentials_are_one_401(shops: Shops, users: UserRegistry) -> None:
    for tenant_id, email, password in (
        ("shop-a", "owner@a.example", "wrong password"),
        ("shop-a", "nobody@a.example", PASSWORD),
        ("shop-b", "owner@a.example", PASSWORD),  # a user of another tenant
    ):
        response = _sign_in(shops, tenant_id, email, password)
        assert response.status_code == 401
        assert response.json()["detail"].startswith("wrong tenant, email or password")
    assert _sign_in(shops, "shop-a", "owner@a.example", "").status_code == 422


def _token(claims: dict[str, Any], secret: str = TEST_JWT_SECRET) -> str:
    now = datetime.now(UTC)
    full = {
        "iss": JWT_ISSUER,
        "sub": "owner@a.example",
        "tid": "shop-a",
        "role": "owner",
        "iat": now,
        "exp": now + timedelta(minutes=5),
        **claims,
    }
    return jwt.encode(full, secret, algorithm=JWT_ALGORITHM)


@pytest.mark.parametrize(
    ("claims", "secret"),
    [
        (
            {},
            "another secret, also 32 bytes or more",
        ),  # forged: not signed with the server's secret
        ({"exp": datetime.now(UTC) - timedelta(seconds=1)}, TEST_JWT_SECRET),
        ({"tid": "shop-b"}, TEST_JWT_SECRET),  # shop-a's user claiming shop-b
        ({"role": "viewer"}, TEST_JWT_SECRET),  # a role the user does not have
        ({"iss": "someone-else"}, TEST_JWT_SECRET),
    ],
    ids=["forged", "expired", "other-tenant", "stale-role", "issuer"],
)
def test_a_bad_token_is_a_401(
    shops: Shops, users: UserRegistry, claims: dict[str, Any], secret: str
) -> None:
    assert shops.client.get("/v1/trending", headers=_bearer(_token({}))).status_code == 200
    response = shops.client.get("/v1/trending", headers=_bearer(_token(claims, secret)))
    assert response.status_code == 401, response.text


def test_a_removed_or_disabled_user_stops_at_once(shops: Shops, users: UserRegistry) -> None:
    token = _sign_in(shops, "shop-a", "analyst@a.example").json()["access_token"]
    authenticator = shops.client.app.state.authenticator  # type: ignore[attr-defined]
    authenticator.user_cache_seconds = 0
    assert shops.client.get("/v1/segments", headers=_bearer(token)).status_code == 200
    users.update("shop-a", "analyst@a.example", disabled=True)
    assert shops.client.get("/v1/segments", headers=_bearer(token)).status_code == 401
    assert _sign_in(shops, "shop-a", "analyst@a.example").status_code == 401
    owner = _sign_in(shops, "shop-a", "owner@a.example").json()["access_token"]
    users.remove("shop-a", "owner@a.example")
    assert shops.client.get("/v1/segments", headers=_bearer(owner)).status_code == 401
