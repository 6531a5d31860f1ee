"""The recommendation route's hook: which algorithm a user gets, with the exposure logged.

``serving`` asks ``app.state.choose_algorithm(tenant_id, user_id)`` for an algorithm when a
request names none; an :class:`AlgorithmChooser` answers from the tenant's running
``recommendations`` experiment: the user's sticky variant's ``config["algorithm"]`` (a variant
without one, typically the control, keeps the default: None).

Exposures go to ``sink(tenant_id, event)``, meant to be a queue that a background thread
appends to the event log in batches (``serving.served_events``), so no request waits for an
fsync or a Redis round trip. Only a unit's first exposure counts in the analysis, so each
(tenant, experiment, unit) is sent once per process while it is remembered (the most recent
``remember`` units); a restart sends some again, which the analysis ignores.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from intellishop.events import LoggedEvent
from intellishop.settings import Settings

from .assignment import assign, exposure_event
from .model import Experiment, Surface, Variant
from .running import RUNNING_CACHE_SECONDS, decided_winner, running_experiment

ExposureSink = Callable[[str, LoggedEvent], None]
log = logging.getLogger(__name__)


class SurfaceChooser:
    """What the surfaces' choosers share: the cached look-up of the tenant's running experiment
    (or, with nothing running, its decided winner), a quiet period while the store is down, and
    the units whose exposure this process has already logged."""

    surface: Surface
    remember_default = 100_000

    def __init__(
        self,
        settings: Settings,
        sink: ExposureSink,
        *,
        remember: int | None = None,
        cache_seconds: float = RUNNING_CACHE_SECONDS,
    ) -> None:
        self.settings = settings
        self.sink = sink
        self.remember = remember or self.remember_default
        self.cache_seconds = cache_seconds
        self._seen: OrderedDict[tuple[str, ...], None] = OrderedDict()
        self._lock = threading.Lock()
        self._quiet_until = 0.0

    def _look_up(
        self, tenant_id: str
    ) -> tuple[Experiment | None, tuple[Experiment, Variant] | None] | None:
        """(the running experiment, the decided winner when nothing runs); None while the
        store is unreachable, so the caller serves its default and never an error."""
        if time.monotonic() < self._quiet_until:
            return None
        try:
            running = running_experiment(
                self.settings, tenant_id, self.surface, cache_seconds=self.cache_seconds
            )
            decided = (
                None
                if running is not None
                else decided_winner(
                    self.settings, tenant_id, self.surface, cache_seconds=self.cache_seconds
                )
            )
        except Exception:  # the store is down: the caller's default, never an error
            log.warning(
                "experiment store unreachable; serving the %s default",
                self.surface.value,
                exc_info=True,
            )
            # Do not make every request wait for a connect timeout: retry after a while.
            self._quiet_until = time.monotonic() + max(self.cache_seconds, 1.0)
            return None
        return running, decided

    def _first_time(self, key: tuple[str, ...]) -> bool:
        with self._lock:
            if key in self._seen:
                self._seen.move_to_end(key)
                return False
            self._seen[key] = None
            if len(self._seen) > self.remember:
                self._seen.popitem(last=False)
            return True


class AlgorithmChooser(SurfaceChooser):
    """``(tenant_id, user_id) -> algorithm | None`` for the recommendation route."""

    surface = Surface.RECOMMENDATIONS

    def __call__(self, tenant_id: str, user_id: str) -> str | None:
        found = self._look_up(tenant_id)
        if found is None:
            return None
        experiment, decided = found
        if experiment is None:
            # Nothing runs: everyone gets the last decided winner, else the default.
            return _algorithm(decided[1]) if decided is not None else None
        variant = assign(experiment, user_id)
        if self._first_time((tenant_id, experiment.key, user_id)):
            self.sink(tenant_id, exposure_event(experiment, variant, user_id=user_id))
        return _algorithm(variant)


def _algorithm(variant: Variant) -> str | None:
    algorithm = variant.config.get("algorithm")
    return str(algorithm) if algorithm else None
