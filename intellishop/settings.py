"""The one settings object: every component reads its configuration from here.

One switch, ``INTELLISHOP_PROFILE`` (``local`` or ``prod``), picks the backends everywhere: the
collector's event log, the raw zone, the dbt target, Dagster's storage and the serving store. The
``local`` profile needs no server: everything lives under ``INTELLISHOP_DATA_DIR``.

Read settings through :func:`get_settings` inside functions, never at import time, so tests can
point the environment somewhere else without reloading modules.
"""

from __future__ import annotations

import os
import socket
from enum import StrEnum
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Secrets that ship in the code. The prod profile refuses to start with any of them.
DEFAULT_ADMIN_TOKEN = "change-me-admin-token"  # noqa: S105 - the refused placeholder
#: The placeholder JWT signing secret; the prod profile refuses it.
DEFAULT_JWT_SECRET = "change-me-jwt-secret-a-placeholder-of-32-bytes"  # noqa: S105
#: How long a loaded message id is remembered (both profiles): a client's retry of a message,
#: or a redelivered entry, that reaches the loader within this time of the first copy lands
#: once. Older ids are pruned, so the tables of loaded ids stay the size of one window instead
#: of growing forever. Seven days covers the SDKs' retries (the browser tracker keeps its queue
#: across visits) and a platform's webhook retries (Shopify: 48 hours). A duplicate older than
#: that still lands at most once a day in prod (raw.events is unique per tenant, day and
#: message id) and int_events_stitched keeps one row per message id in either profile.
DEDUP_WINDOW_SECONDS = 7 * 86_400


#: Session options of dbt's PostgreSQL connections (libpq's PGOPTIONS). JIT off: PostgreSQL
#: compiles a query's expressions with LLVM once its estimated cost passes `jit_above_cost`,
#: and each of the warehouse's wide event queries then spends seconds compiling: 13.2 s of the
#: identity map's 14.3 s over 1M events, which take 5.3 s without it (docs/benchmarks.md).
DBT_POSTGRES_OPTIONS = "-c jit=off"


def dbt_postgres_session_env() -> dict[str, str]:
    """libpq's variables for dbt's PostgreSQL sessions: the session's TimeZone from PGTZ
    (dbt's date casts run in UTC) and its settings from PGOPTIONS (the operator's, then
    :data:`DBT_POSTGRES_OPTIONS`). Part of :meth:`Settings.dbt_env`; the pipeline benchmark
    gives its own dbt runs the same."""
    options = " ".join(filter(None, [os.environ.get("PGOPTIONS"), DBT_POSTGRES_OPTIONS]))
    return {"PGTZ": "UTC", "PGOPTIONS": options}


#: The variable through which the prod Dagster instance finds PostgreSQL (see dagster.yaml).
DAGSTER_POSTGRES_URL_VARIABLE = "INTELLISHOP_DAGSTER_POSTGRES_URL"


class Profile(StrEnum):
    LOCAL = "local"
    PROD = "prod"


class Settings(BaseSettings):
    """Configuration for every IntelliShop process, from ``INTELLISHOP_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="INTELLISHOP_", env_file=".env", extra="ignore")

    profile: Profile = Profile.LOCAL
    data_dir: Path = Field(default=Path(".intellishop"), description="Root of all local state.")

    host: str = "127.0.0.1"
    collector_port: int = 8000
    api_port: int = 8001
    dagster_port: int = 3000
    dashboard_port: int = 8501
    #: Port of the Prometheus /metrics endpoint of a worker without HTTP (loader, automation);
    #: unset: no endpoint. The HTTP services serve /metrics on their own port.
    metrics_port: int | None = None
    #: The metrics ports ``intellishop up`` gives the loader and the automation worker.
    loader_metrics_port: int = 9102
    automation_metrics_port: int = 9103

    admin_token: str = DEFAULT_ADMIN_TOKEN
    #: Signs dashboard users' session tokens (HS256); at least 32 characters of your own in prod.
    jwt_secret: str = DEFAULT_JWT_SECRET

    #: Events may not be more than this far in the future of the time the collector received them.
    max_clock_skew_seconds: int = 24 * 3600
    max_event_bytes: int = 32 * 1024
    max_batch_bytes: int = 500 * 1024
    #: Proxies (IPs or CIDRs, JSON list in the env) whose X-Forwarded-For the collector believes.
    trusted_proxies: list[str] = Field(default_factory=list)

    #: Half-life of the time decay applied to product interactions for "trending", in days.
    trending_half_life_days: float = 7.0
    #: Number of recommendations published per user.
    recommendations_per_user: int = 20

    #: Automation (intellishop.automation.config): outbound webhooks may reach private, loopback
    #: and link-local addresses only when an operator allows it.
    automation_allow_private_targets: bool = False
    automation_poll_seconds: float = 1.0
    automation_smtp_host: str = "127.0.0.1"
    automation_smtp_port: int = 25
    automation_smtp_user: str | None = None
    automation_smtp_password: str | None = None
    automation_smtp_starttls: bool = False
    automation_email_from: str = "IntelliShop <no-reply@intellishop.local>"
    #: Public URL of the API in tracking pixels and links (default: this machine's API port).
    automation_tracking_base_url: str | None = None
    #: Key of signed tracking links (default: derived from the admin token).
    automation_tracking_secret: str | None = None

    #: How long loaders remember a loaded message id (see DEDUP_WINDOW_SECONDS).
    dedup_window_seconds: int = Field(default=DEDUP_WINDOW_SECONDS, ge=3600)

    postgres_dsn: str = "postgresql://postgres@127.0.0.1:5432/intellishop"
    redis_url: str = "redis://127.0.0.1:6379/0"
    #: The prod event log's stream key; its erasure records use it as their key prefix.
    redis_stream: str = "intellishop:events"
    #: This loader's member name in the stream's consumer group (default: the host's name, so a
    #: restarted loader is the same member and each replica is its own). Loaders of different
    #: members split the stream between them; two of one member would share its pending entries,
    #: so they take turns (``ingest.loader``).
    loader_member: str = Field(default_factory=socket.gethostname, min_length=1, max_length=200)

    @model_validator(mode="after")
    def _refuse_default_secrets_in_prod(self) -> Settings:
        if self.profile is Profile.PROD and self.admin_token == DEFAULT_ADMIN_TOKEN:
            raise ValueError(
                "INTELLISHOP_ADMIN_TOKEN must be set to a secret of your own in the prod profile"
            )
        if self.profile is Profile.PROD and (
            self.jwt_secret == DEFAULT_JWT_SECRET or len(self.jwt_secret) < 32
        ):
            raise ValueError(
                "INTELLISHOP_JWT_SECRET must be set to a secret of your own (32+ characters) "
                "in the prod profile"
            )
        return self

    # Derived locations. All local state is under data_dir, so one directory is one installation.
    @property
    def event_log_path(self) -> Path:
        return self.data_dir / "event_log.sqlite3"

    @property
    def tenants_db_path(self) -> Path:
        return self.data_dir / "tenants.sqlite3"

    @property
    def raw_zone_dir(self) -> Path:
        return self.data_dir / "raw"

    @property
    def warehouse_path(self) -> Path:
        return self.data_dir / "warehouse.duckdb"

    @property
    def artifacts_dir(self) -> Path:
        return self.data_dir / "artifacts"

    @property
    def dagster_home(self) -> Path:
        return self.data_dir / "dagster"

    @property
    def dbt_target(self) -> str:
        """The dbt target of ``dbt_project/profiles.yml`` that this profile builds."""
        return self.profile.value

    @property
    def dagster_postgres_url(self) -> str:
        """``postgres_dsn`` for dagster-postgres, through psycopg2.

        SQLAlchemy 2.1 would pick psycopg 3 for a bare ``postgresql://`` URL, and dagster-postgres
        breaks on it (``NOTIFY run_events, $1``).
        """
        scheme, _, rest = self.postgres_dsn.partition("://")
        if scheme.startswith("postgres"):
            return f"postgresql+psycopg2://{rest}"
        # A libpq key=value DSN ("host=... dbname=..."): the same connection as a URL.
        from urllib.parse import quote

        from psycopg.conninfo import conninfo_to_dict

        parts = {key: str(value) for key, value in conninfo_to_dict(self.postgres_dsn).items()}
        user = quote(parts.pop("user", ""), safe="")
        password = parts.pop("password", None)
        credentials = (
            f"{user}:{quote(password, safe='')}@" if password else f"{user}@" if user else ""
        )
        host = parts.pop("host", "localhost")
        port = parts.pop("port", None)
        dbname = quote(parts.pop("dbname", ""), safe="")
        query = "&".join(f"{quote(k)}={quote(v)}" for k, v in sorted(parts.items()))
        address = f"{host}:{port}" if port else host
        return f"postgresql+psycopg2://{credentials}{address}/{dbname}" + (
            f"?{query}" if query else ""
        )

    def dagster_instance_yaml(self) -> str:
        """The Dagster instance config (``$DAGSTER_HOME/dagster.yaml``) of this profile.

        Local: Dagster's default SQLite storage under ``dagster_home``. Prod: runs, events and
        schedules in PostgreSQL, the URL read from the environment (no secret in the file).
        Either way no usage pings, and one run at a time: DuckDB has one writer, and the
        schedule, the sensor and the UI may all ask for a run.
        """
        text = (
            "# Written by intellishop from INTELLISHOP_PROFILE; edits are overwritten.\n"
            "telemetry:\n  enabled: false\n"
            "run_queue:\n  max_concurrent_runs: 1\n"
        )
        if self.profile is Profile.PROD:
            text += (
                "storage:\n  postgres:\n    postgres_url:\n"
                f"      env: {DAGSTER_POSTGRES_URL_VARIABLE}\n"
            )
        return text

    def ensure_dirs(self) -> None:
        """Create the state directories and write the Dagster instance config of the profile."""
        for path in (self.data_dir, self.raw_zone_dir, self.artifacts_dir, self.dagster_home):
            path.mkdir(parents=True, exist_ok=True)
        instance_config = self.dagster_home / "dagster.yaml"
        wanted = self.dagster_instance_yaml()
        if not instance_config.exists() or instance_config.read_text() != wanted:
            instance_config.write_text(wanted)

    def dbt_env(self) -> dict[str, str]:
        """Environment variables that ``dbt_project/profiles.yml`` and its sources read.

        The prod target's connection comes from ``postgres_dsn``, so the DSN is the one place
        that says where PostgreSQL is.
        """
        env = {
            **dbt_postgres_session_env(),
            "INTELLISHOP_WAREHOUSE_PATH": str(self.warehouse_path.resolve()),
            "INTELLISHOP_RAW_ZONE": str(self.raw_zone_dir.resolve()),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        }
        if self.profile is Profile.PROD:
            from psycopg.conninfo import conninfo_to_dict

            parts = conninfo_to_dict(self.postgres_dsn)
            for name, key in (
                ("HOST", "host"),
                ("PORT", "port"),
                ("USER", "user"),
                ("PASSWORD", "password"),
                ("DB", "dbname"),
            ):
                if parts.get(key) is not None:
                    env[f"INTELLISHOP_POSTGRES_{name}"] = str(parts[key])
        return env


def get_settings() -> Settings:
    """Settings as the environment says now (not cached, so tests may change the environment)."""
    return Settings()
