"""Deterministic, sticky assignment of units (users) to variants, and exposure logging.

bucket = first 8 bytes of SHA-256(key ":" salt ":" unit id) as an integer / 2^64, in [0, 1).
The variant is the first whose cumulative weight exceeds the bucket. No state is stored: every
API worker, the email sender and the pipeline compute the same answer, and a user keeps their
variant as long as the weights do not change (they are frozen while an experiment runs).
The per-experiment salt keeps experiments independent: being in the treatment of one says
nothing about the variant in another.

Exposure is logged where the variant is actually shown, as Segment's "Experiment Viewed" event
(properties experiment_id, experiment_name, variation_id, variation_name), one event-log append
per call, so the pipeline measures exposed users only, not everyone who could have been.
"""

from __future__ import annotations

import hashlib
import uuid
from bisect import bisect_right
from collections.abc import Iterable
from datetime import UTC, datetime
from itertools import accumulate
from typing import Any, Protocol

import msgspec

from intellishop.events import LoggedBatch, LoggedEvent, to_micros

from .model import Experiment, Variant

EXPOSURE_EVENT = "Experiment Viewed"
_SCALE = float(2**64)
_json = msgspec.json.Encoder()


def bucket(key: str, salt: str, unit_id: str) -> float:
    """The unit's position in [0, 1) for this experiment: uniform, and the same every time."""
    digest = hashlib.sha256(f"{key}:{salt}:{unit_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


def assign(experiment: Experiment, unit_id: str) -> Variant:
    """The variant ``unit_id`` sees in ``experiment`` (whatever its status: callers decide
    whether to run it; see :func:`intellishop.experiments.running_experiment`)."""
    edges = list(accumulate(experiment.weights()))
    index = bisect_right(edges, bucket(experiment.key, experiment.salt, unit_id))
    return experiment.variants[min(index, len(experiment.variants) - 1)]


def exposure_event(
    experiment: Experiment,
    variant: Variant,
    *,
    user_id: str | None = None,
    anonymous_id: str | None = None,
    at: datetime | None = None,
    properties: dict[str, Any] | None = None,
    message_id: str | None = None,
) -> LoggedEvent:
    """One "Experiment Viewed" track event, shaped as the collector would have logged it.

    ``properties`` add to the standard four what the surface's attribution needs (the
    ``product_id`` whose price was shown, the campaign's ``window_days``); ``message_id``
    (default: a new UUID) lets a caller that may log the same exposure twice make the repeat
    a duplicate the loader drops.
    """
    if not user_id and not anonymous_id:
        raise ValueError("an exposure needs the unit's user id or anonymous id")
    now_us = to_micros(datetime.now(UTC))
    return LoggedEvent(
        message_id=message_id or str(uuid.uuid4()),
        type="track",
        event=EXPOSURE_EVENT,
        user_id=user_id,
        anonymous_id=anonymous_id,
        timestamp_us=to_micros(at) if at is not None else now_us,
        sent_at_us=None,
        received_at_us=now_us,
        properties=_json.encode(
            {
                "experiment_id": experiment.key,
                "experiment_name": experiment.name,
                "variation_id": variant.id,
                "variation_name": variant.name,
                **(properties or {}),
            }
        ),
        traits=b"{}",
        context=_json.encode({"library": {"name": "intellishop-experiments", "version": "1"}}),
    )


class EventAppender(Protocol):
    """What exposure logging needs of an event log (``ingest.event_log.EventLog`` has it)."""

    def append(self, batch: LoggedBatch) -> str: ...


def log_exposures(
    event_log: EventAppender, tenant_id: str, events: Iterable[LoggedEvent]
) -> str | None:
    """Append the exposures as one event-log entry (one round trip); None when there are none."""
    batch = list(events)
    if not batch:
        return None
    return event_log.append(LoggedBatch(tenant_id=tenant_id, events=batch))


def assign_and_log(
    event_log: EventAppender,
    experiment: Experiment,
    unit_id: str,
    *,
    anonymous: bool = False,
) -> Variant:
    """Assign ``unit_id`` and log that they saw their variant, in one append.

    ``anonymous`` says the unit id is an anonymous (device) id rather than a user id, so the
    event carries it as ``anonymousId`` and identity stitching can link it later.
    """
    variant = assign(experiment, unit_id)
    event = exposure_event(
        experiment,
        variant,
        user_id=None if anonymous else unit_id,
        anonymous_id=unit_id if anonymous else None,
    )
    log_exposures(event_log, experiment.tenant_id, [event])
    return variant
