"""The import and platforms commands, and the 100k-row import measured end to end."""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from ingest.imports.csv_import import import_csv
from ingest.platforms.connections import PlatformConnections
from intellishop.cli import app
from intellishop.settings import Settings

from .conftest import logged_events, write_csv

runner = CliRunner()
HEADER = ["order_id", "date", "customer_id", "product_id", "category", "quantity", "unit_price"]


def test_cli_import_reports_bad_rows_and_writes_nothing(
    settings: Settings, tenant: str, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "orders.csv",
        HEADER,
        [["1", "2024-01-01", "c1", "p1", "", "1", "9.5"], ["2", "soon", "c1", "p1", "", "1", "x"]],
    )
    result = runner.invoke(app, ["import", "orders", str(path), "--tenant", tenant])
    assert result.exit_code == 1, result.output
    assert "nothing was imported" in result.output
    assert "soon" in result.output and "unit_price" in result.output
    assert logged_events(settings) == []

    write_csv(path, HEADER, [["1", "2024-01-01", "c1", "p1", "", "1", "9.5"]])
    result = runner.invoke(app, ["import", "orders", str(path), "--tenant", tenant])
    assert result.exit_code == 0, result.output
    assert "1 Order Completed" in result.output
    assert len(logged_events(settings)) == 1


def test_cli_connect_takes_the_secret_from_env_or_stdin_only(
    settings: Settings, tenant: str
) -> None:
    secret = "shpss_0123456789abcdef0123456789abcdef"
    result = runner.invoke(
        app,
        ["platforms", "connect", "shopify", "--tenant", tenant, "--secret-env", "SHOP_SECRET"],
        env={"SHOP_SECRET": secret},
    )
    assert result.exit_code == 0, result.output
    assert secret not in result.output
    assert f"/webhooks/shopify/{tenant}" in result.output
    connections = PlatformConnections(settings.tenants_db_path)
    assert connections.webhook_secret(tenant, "shopify") == secret

    woo_secret = "wc-secret-from-stdin-0123456789"
    result = runner.invoke(
        app,
        ["platforms", "connect", "woocommerce", "--tenant", tenant, "--secret-stdin"],
        input=woo_secret + "\n",
    )
    assert result.exit_code == 0, result.output
    assert connections.webhook_secret(tenant, "woocommerce") == woo_secret

    refused = runner.invoke(
        app, ["platforms", "connect", "shopify", "--tenant", tenant, "--secret-env", "UNSET_VAR"]
    )
    assert refused.exit_code == 2
    short = runner.invoke(
        app,
        ["platforms", "connect", "shopify", "--tenant", "nobody", "--secret-env", "S"],
        env={"S": secret},
    )
    assert short.exit_code == 2 and "no tenant" in short.output
    listed = runner.invoke(app, ["platforms", "list"])
    assert "woocommerce" in listed.output and secret not in listed.output
    assert (
        runner.invoke(app, ["platforms", "disconnect", "shopify", "--tenant", tenant]).exit_code
        == 0
    )
    assert connections.webhook_secret(tenant, "shopify") is None


def test_100k_rows_import_in_seconds(settings: Settings, tenant: str, tmp_path: Path) -> None:
    rng = random.Random(7)
    rows: list[list[Any]] = []
    order = 0
    while len(rows) < 100_000:
        order += 1
        day = (
            f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:00:00"
        )
        for _ in range(rng.randint(1, 4)):
            rows.append(
                [
                    f"o{order}",
                    day,
                    f"c{rng.randint(1, 5000)}",
                    f"p{rng.randint(1, 800)}",
                    "Cat",
                    rng.choice([1, 1, 2, 3, -1]),
                    f"{rng.randint(100, 20000) / 100:.2f}",
                ]
            )
    path = write_csv(tmp_path / "big.csv", HEADER, rows[:100_000])
    started = time.perf_counter()
    result = import_csv(settings, "orders", path, tenant_id=tenant)
    seconds = time.perf_counter() - started
    assert result.ok, result.errors[:5]
    assert result.rows == 100_000
    print(
        f"\n100k-row order import: {seconds:.2f} s ({result.rows / seconds:,.0f} rows/s); "
        f"check {result.check_seconds:.2f} s, write {result.write_seconds:.2f} s, "
        f"{result.events} events in {result.entries} entries"
    )
    assert seconds < 60  # loose: the point is the printed rate, not a tight bound
    assert len(logged_events(settings)) == result.events
