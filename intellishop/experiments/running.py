"""The running experiment of a tenant's surface, as every API request asks for it: cached.

One store per data directory (local) or DSN (prod) per process, and each answer remembered for
``RUNNING_CACHE_SECONDS``: starting or stopping an experiment reaches every worker within that
time, and a request costs no database round trip (about 10 us cached, 2.6 ms on SQLite not).
"""

from __future__ import annotations

import threading
import time

from intellishop.settings import Settings

from .model import Experiment, Surface, Variant
from .store import ExperimentStore, open_store

#: How long :func:`running_experiment` remembers an answer.
RUNNING_CACHE_SECONDS = 5.0

_cache: dict[tuple[str, str, str], tuple[float, Experiment | None]] = {}
_winners: dict[tuple[str, str, str], tuple[float, tuple[Experiment, Variant] | None]] = {}
_stores: dict[tuple[str, str], ExperimentStore] = {}
_lock = threading.Lock()


def _store_for(settings: Settings) -> ExperimentStore:
    where = str(settings.data_dir.absolute()) if settings.profile.value == "local" else ""
    key = (settings.profile.value, where or settings.postgres_dsn)
    with _lock:
        store = _stores.get(key)
        if store is None:
            store = _stores[key] = open_store(settings)
        return store


def running_experiment(
    settings: Settings,
    tenant_id: str,
    surface: Surface | str,
    *,
    cache_seconds: float = RUNNING_CACHE_SECONDS,
) -> Experiment | None:
    """The tenant's running experiment on ``surface``, or None (serve the default).

    At most one experiment runs per surface (except ``custom``, where the first by key is
    returned). Answers are cached for ``cache_seconds`` per (store, tenant, surface).
    """
    surface = Surface(surface)
    store = _store_for(settings)
    key = (store.location, tenant_id, surface.value)
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key)
    if hit is not None and now - hit[0] < cache_seconds:
        return hit[1]
    running = store.running(tenant_id, surface)
    experiment = running[0] if running else None
    with _lock:
        _cache[key] = (now, experiment)
    return experiment


def decided_winner(
    settings: Settings,
    tenant_id: str,
    surface: Surface | str,
    *,
    cache_seconds: float = RUNNING_CACHE_SECONDS,
) -> tuple[Experiment, Variant] | None:
    """The winner of the tenant's latest decided experiment on ``surface``, to roll out to
    everyone while nothing runs there; None when there is none. Cached like
    :func:`running_experiment`."""
    surface = Surface(surface)
    store = _store_for(settings)
    key = (store.location, tenant_id, surface.value)
    now = time.monotonic()
    with _lock:
        hit = _winners.get(key)
    if hit is not None and now - hit[0] < cache_seconds:
        return hit[1]
    found = store.latest_winner(tenant_id, surface)
    answer = None
    if found is not None:
        experiment, winner = found
        variant = experiment.variant(winner)
        answer = (experiment, variant) if variant is not None else None
    with _lock:
        _winners[key] = (now, answer)
    return answer
