# One image for every IntelliShop service (collector, API, Dagster webserver and daemon,
# dashboards); docker-compose.yml picks the command. Build: `docker compose build`.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    DBT_SEND_ANONYMOUS_USAGE_STATS=false \
    DAGSTER_DISABLE_TELEMETRY=1 \
    OPENBLAS_NUM_THREADS=1

RUN pip install --no-cache-dir "uv>=0.13.8,<0.14" \
    && groupadd --system --gid 10001 intellishop \
    && useradd --system --uid 10001 --gid intellishop --create-home \
        --home-dir /home/intellishop --shell /usr/sbin/nologin intellishop

WORKDIR /app

# Dependencies first, from the lock file alone, so a code change does not reinstall them.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project

# The project itself, installed editable: the CLI finds workspace.yaml, dashboards/ and
# dbt_project/ next to its package (intellishop.services.PROJECT_ROOT is /app).
COPY . .
RUN uv sync --frozen --no-dev

ENV PATH=/app/.venv/bin:$PATH

# @dbt_assets reads dbt_project/target/manifest.json when the Dagster code loads: parse now.
# dbt writes its run artifacts under dbt_project/ at run time, so the service user owns it;
# /data is the state volume (a fresh named volume takes this owner from the image).
RUN cd dbt_project \
    && dbt parse --quiet --profiles-dir . --target local \
    && test -f target/manifest.json \
    && mkdir -p /data/dagster \
    && chown -R intellishop:intellishop /app/dbt_project /data

ENV INTELLISHOP_DATA_DIR=/data \
    DAGSTER_HOME=/data/dagster

USER intellishop

CMD ["intellishop", "--help"]
