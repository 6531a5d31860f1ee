"""``intellishop models ...`` through typer's runner, on a local registry in a temp directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from intellishop.commands.models import models_app, open_registry
from intellishop.datasets import DatasetUnavailableError, cdnow_path
from intellishop.settings import Settings
from tests.conftest import _unreachable

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("INTELLISHOP_PROFILE", "local")
    monkeypatch.setenv("INTELLISHOP_DATA_DIR", str(tmp_path))
    return tmp_path


def test_list_show_rollback(data_dir: Path) -> None:
    assert "no models registered yet" in runner.invoke(models_app, ["list"]).output
    registry = open_registry(Settings(data_dir=data_dir))
    for auc in (0.7, 0.8):
        registry.register("shop", "churn", params={"eta": 0.1}, metrics={"auc": auc}, holdout="h")
    assert (data_dir / "models" / "registry.sqlite3").exists()

    listed = runner.invoke(models_app, ["list", "--tenant", "shop"])
    assert listed.exit_code == 0, listed.output
    assert "retired" in listed.output and "active" in listed.output and "0.8000" in listed.output

    shown = runner.invoke(models_app, ["show", "shop", "churn"])
    assert shown.exit_code == 0, shown.output
    body = json.loads(shown.output)
    assert body["version"] == 2 and body["metrics"] == {"auc": 0.8}
    assert [e["action"] for e in body["events"]] == ["promoted", "promoted"]

    back = runner.invoke(models_app, ["rollback", "shop", "churn"])
    assert back.exit_code == 0 and "version 1 is active" in back.output
    assert json.loads(runner.invoke(models_app, ["show", "shop", "churn"]).output)["version"] == 1

    missing = runner.invoke(models_app, ["show", "nobody", "clv"])
    assert missing.exit_code == 2 and "no active clv model" in missing.output
    bad = runner.invoke(models_app, ["rollback", "shop", "churn", "--to", "9"])
    assert bad.exit_code == 2 and "no version 9" in bad.output


def test_evaluate_clv_on_cdnow_prints_model_and_baseline(data_dir: Path) -> None:
    try:
        cdnow_path()
    except DatasetUnavailableError as error:
        _unreachable("The CDNOW dataset", error)
    result = runner.invoke(models_app, ["evaluate", "clv", "--dataset", "cdnow", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["customers"] == 23_570
    purchases = body["metrics"]["holdout purchases, relative error"]
    assert abs(purchases["model"]) < 0.2 < abs(purchases["baseline"])
    refused = runner.invoke(models_app, ["evaluate", "forecast", "--dataset", "cdnow"])
    assert refused.exit_code == 2 and "no products" in refused.output
