"""Alerts and the Grafana dashboard read metrics that the services really export.

A misspelt metric in an alert never fires; this reads every ``intellishop_*`` name in
deploy/prometheus/alerts.yml and the Grafana dashboard and finds it among the metric families
the collector, the API, the loader and the automation worker expose.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow as pa
import yaml  # type: ignore[import-untyped]
from prometheus_client import CollectorRegistry

from ingest.loader import LoadReport
from ingest.loader_metrics import loader_registry
from ingest.metrics import REGISTRY as COLLECTOR_REGISTRY
from intellishop.artifacts import LocalArtifactStore
from intellishop.automation.metrics import automation_registry
from intellishop.automation.store import AutomationStore
from intellishop.settings import Settings
from serving.metrics import REGISTRY as API_REGISTRY
from serving.metrics import install_metrics

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "intellishop.json"
METRIC = re.compile(r"\bintellishop_[a-z0-9_]+")
SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created")


def family_names(registry: CollectorRegistry) -> set[str]:
    return {family.name for family in registry.collect()}


def exported(settings: Settings) -> set[str]:
    store = LocalArtifactStore(settings.artifacts_dir)
    store.publish("acme", {"popular": pa.table({"product_id": ["p1"]})})
    install_metrics(settings, store)
    automation = AutomationStore.for_settings(settings)
    try:
        names = (
            family_names(COLLECTOR_REGISTRY)
            | family_names(API_REGISTRY)
            | family_names(loader_registry(settings, LoadReport()))
            | family_names(automation_registry(automation))
        )
    finally:
        automation.close()
    return names


def referenced(text: str) -> set[str]:
    names = set()
    for name in METRIC.findall(text):
        for suffix in SUFFIXES:
            if name.endswith(suffix):
                name = name.removesuffix(suffix)
                break
        names.add(name)
    return names


def test_every_alert_has_a_runbook() -> None:
    rules = [
        rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]
    ]
    assert len(rules) >= 8
    for rule in rules:
        kebab = re.sub(r"(?<!^)(?=[A-Z])", "-", rule["alert"]).lower()
        assert rule["annotations"]["runbook"] == f"docs/runbooks/{kebab}.md", rule["alert"]
        assert (ROOT / rule["annotations"]["runbook"]).is_file(), rule["alert"]
        assert rule["labels"]["severity"] in {"warning", "critical"}


def test_alerts_and_dashboard_read_exported_metrics(settings: Settings) -> None:
    names = exported(settings)
    dashboard = json.loads(DASHBOARD.read_text())
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    wanted = referenced(ALERTS.read_text()) | referenced("\n".join(expressions))
    assert wanted, "no intellishop metric referenced"
    missing = sorted(wanted - names)
    assert not missing, f"referenced but exported by no service: {missing}"
