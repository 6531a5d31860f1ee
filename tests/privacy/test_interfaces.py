"""The admin API endpoints and the CLI commands of data-subject requests."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from intellishop.cli import app
from intellishop.privacy import audit_log

from .conftest import ADMIN_TOKEN, SHOP_A, SHOP_B, Installation, basic_auth

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def test_the_admin_api_exports_then_erases(installation: Installation) -> None:
    client = installation.client
    url = f"/admin/v1/tenants/{SHOP_A}"
    # A tenant's own key, a wrong token and no token open nothing.
    for headers in (basic_auth(installation.keys[SHOP_A]), {"Authorization": "Bearer nope"}, {}):
        assert client.get(f"{url}/subjects?user_id=u-alice", headers=headers).status_code == 401
        response = client.post(f"{url}/erasures", json={"user_id": "u-alice"}, headers=headers)
        assert response.status_code == 401
    assert client.post(f"{url}/erasures", json={}, headers=ADMIN).status_code == 422
    both = {"user_id": "u-alice", "email": "alice@example.com"}
    assert client.post(f"{url}/erasures", json=both, headers=ADMIN).status_code == 422
    alice = {"user_id": "u-alice"}
    missing = client.post("/admin/v1/tenants/no-such-shop/erasures", json=alice, headers=ADMIN)
    assert missing.status_code == 404

    exported = client.get(f"{url}/subjects", params={"email": "alice@example.com"}, headers=ADMIN)
    assert exported.status_code == 200, exported.text
    assert exported.json()["user_ids"] == ["old-alice", "u-alice"]
    assert len(exported.json()["events"]) > 0

    erased = client.post(f"{url}/erasures", json={"user_id": "u-alice"}, headers=ADMIN)
    assert erased.status_code == 200, erased.text
    assert erased.json()["removed"]["raw_zone"] > 0
    after = client.get(f"{url}/subjects", params={"user_id": "u-alice"}, headers=ADMIN).json()
    assert after["events"] == [] and after["serving"]["recommendations"] == []
    other = client.get(
        f"/admin/v1/tenants/{SHOP_B}/subjects", params={"user_id": "u-alice"}, headers=ADMIN
    ).json()
    assert len(other["events"]) > 0
    records = audit_log(installation.settings).records()
    assert [(r["action"], r["tenant_id"], r["requested_by"]) for r in records] == [
        ("export", SHOP_A, "admin-api"),
        ("erase", SHOP_A, "admin-api"),
        ("export", SHOP_A, "admin-api"),
        ("export", SHOP_B, "admin-api"),
    ]


def test_the_cli_writes_the_export_and_erases(installation: Installation, tmp_path: Path) -> None:
    runner = CliRunner()
    output = tmp_path / "alice.json"
    result = runner.invoke(
        app,
        [
            "privacy",
            "export",
            "--tenant",
            SHOP_A,
            "--email",
            "Alice@example.com",
            "-o",
            str(output),
        ],
    )
    assert result.exit_code == 0, result.output
    document = json.loads(output.read_text())
    assert document["anonymous_ids"] == ["anon-1", "anon-2", "old-alice"]
    result = runner.invoke(
        app, ["privacy", "erase", "--tenant", SHOP_A, "--anonymous-id", "anon-2"]
    )
    assert result.exit_code == 0, result.output
    assert '"found": true' in result.output
    result = runner.invoke(app, ["privacy", "erase", "--tenant", SHOP_A])
    assert result.exit_code == 2
    result = runner.invoke(app, ["privacy", "erase", "--tenant", "nope", "--user-id", "x"])
    assert result.exit_code == 2
