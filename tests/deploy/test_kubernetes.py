"""The Kubernetes manifests (deploy/k8s), rendered with kustomize and checked offline.

No cluster runs here: each overlay is rendered by ``kubectl kustomize`` and every object is
validated against the Kubernetes 1.30 OpenAPI schemas (kubernetes-validate, strict: unknown
fields fail). Structural rules a schema cannot express are asserted on the rendered objects.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml  # type: ignore[import-untyped]
from dagster._config import process_config
from dagster_k8s import K8sRunLauncher

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ["base", "overlays/production", "overlays/single-node"]
KUBERNETES_VERSION = "1.30.0"
#: Everything docker-compose.yml runs, but Prometheus and Grafana (a cluster has its own).
WORKLOADS = {
    "collector",
    "api",
    "dashboards",
    "loader",
    "automation",
    "dagster-webserver",
    "dagster-daemon",
    "postgres",
    "redis",
}
AUTOSCALED = {"collector", "api", "loader", "automation"}


def render(overlay: str) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI needs kubectl (kustomize) to render deploy/k8s")
        pytest.skip("kubectl is not installed")
    result = subprocess.run(
        [kubectl, "kustomize", str(K8S / overlay)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="module", params=OVERLAYS)
def objects(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return render(request.param)


def of_kind(objects: list[dict[str, Any]], *kinds: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] in kinds}


def containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    spec: list[dict[str, Any]] = workload["spec"]["template"]["spec"]["containers"]
    return spec


def test_every_object_is_valid_kubernetes(objects: list[dict[str, Any]]) -> None:
    for obj in objects:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_every_service_of_the_prod_profile_runs(objects: list[dict[str, Any]]) -> None:
    assert set(of_kind(objects, "Deployment", "StatefulSet")) == WORKLOADS


def test_everything_lives_in_one_namespace(objects: list[dict[str, Any]]) -> None:
    cluster_scoped = {"Namespace"}
    for obj in objects:
        if obj["kind"] not in cluster_scoped:
            assert obj["metadata"].get("namespace") == "intellishop", obj["metadata"]["name"]


def test_every_container_has_requests_limits_and_a_liveness_probe(
    objects: list[dict[str, Any]],
) -> None:
    for name, workload in of_kind(objects, "Deployment", "StatefulSet").items():
        for container in containers(workload):
            resources = container.get("resources", {})
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources.get(kind, {})), (name, kind)
            assert "livenessProbe" in container, name


def test_http_services_are_ready_only_when_healthy(objects: list[dict[str, Any]]) -> None:
    services = of_kind(objects, "Service")
    workloads = of_kind(objects, "Deployment")
    for name in ("collector", "api", "dashboards", "dagster-webserver"):
        assert name in services, name
        (container,) = containers(workloads[name])
        assert container["readinessProbe"]["httpGet"]["port"] == "http", name


def test_autoscalers_target_real_deployments(objects: list[dict[str, Any]]) -> None:
    hpas = of_kind(objects, "HorizontalPodAutoscaler")
    deployments = of_kind(objects, "Deployment")
    assert set(hpas) == AUTOSCALED
    for name, hpa in hpas.items():
        target = hpa["spec"]["scaleTargetRef"]
        assert target["kind"] == "Deployment" and target["name"] in deployments, name
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"], name


def test_pods_run_as_non_root_without_privilege_escalation(objects: list[dict[str, Any]]) -> None:
    for name, workload in of_kind(objects, "Deployment", "StatefulSet").items():
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"].get("runAsNonRoot") or name == "postgres", name
        if name in {"postgres", "redis"}:
            continue
        for container in containers(workload):
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, name


def test_secrets_come_only_from_the_secret(objects: list[dict[str, Any]]) -> None:
    """No password or token is written in a manifest: env values name the Secret instead."""
    secret_words = ("PASSWORD", "TOKEN", "SECRET", "DSN", "POSTGRES_URL")
    assert not of_kind(objects, "Secret"), "the operator creates intellishop-secrets"
    for name, workload in of_kind(objects, "Deployment", "StatefulSet").items():
        for container in containers(workload):
            for variable in container.get("env", []):
                if any(word in variable["name"] for word in secret_words):
                    assert "value" not in variable, (name, variable["name"])
    for config in of_kind(objects, "ConfigMap").values():
        for key in config["data"]:
            assert not any(word in key for word in secret_words), key


def test_ingress_is_denied_unless_a_policy_allows_it(objects: list[dict[str, Any]]) -> None:
    policies = of_kind(objects, "NetworkPolicy")
    deny = policies["default-deny-ingress"]["spec"]
    assert deny["podSelector"] == {} and deny["policyTypes"] == ["Ingress"]
    assert "ingress" not in deny
    backends = policies["allow-backends-from-intellishop"]["spec"]
    selected = backends["podSelector"]["matchExpressions"][0]["values"]
    assert set(selected) == {"postgres", "redis"}


def test_dagster_launches_runs_as_kubernetes_jobs(objects: list[dict[str, Any]]) -> None:
    instance = yaml.safe_load(
        of_kind(objects, "ConfigMap")["dagster-instance"]["data"]["dagster.yaml"]
    )
    launcher = instance["run_launcher"]
    assert (launcher["module"], launcher["class"]) == ("dagster_k8s.launcher", "K8sRunLauncher")
    launcher_schema = K8sRunLauncher.config_type()  # type: ignore[no-untyped-call]
    result = process_config(launcher_schema, launcher["config"])
    assert result.success, result.errors
    assert launcher["config"]["instance_config_map"] == "dagster-instance"
    assert instance["storage"]["postgres"]["postgres_url"] == {
        "env": "INTELLISHOP_DAGSTER_POSTGRES_URL"
    }
    # The service account the launcher uses may create Jobs, and only in its namespace.
    role = of_kind(objects, "Role")["intellishop-dagster-runs"]
    job_rule = next(rule for rule in role["rules"] if "jobs" in rule["resources"])
    assert "create" in job_rule["verbs"]
    deployments = of_kind(objects, "Deployment")
    for name in ("dagster-webserver", "dagster-daemon"):
        pod = deployments[name]["spec"]["template"]["spec"]
        assert pod["serviceAccountName"] == launcher["config"]["service_account_name"], name
