"""A context decoded into Structs of Segment's context fields, not a dict: the collector's path.

:func:`ingest.validation.validate_batch` decodes each context it has not met yet in the batch
into a :class:`ContextView`, and :meth:`ingest.enrichment.ContextEnricher.view_json` enriches
the view's fields and encodes it. A Struct costs less than a dict to build, to change and to
encode (its field names are known in advance).

A context with a field the view does not name does not fit (``forbid_unknown_fields``) and takes
the dict path, so the view needs no catch-all and nothing of a context is skipped or dropped:
every value is decoded, so a value the dict path refuses (a number beyond a float's range) is
refused here too. Every field defaults to ``UNSET``, which the encoder leaves out: a field the
client sent (even ``null``) is stored, one it did not send is not.
"""

from __future__ import annotations

from typing import Any

import msgspec

UNSET: Any = msgspec.UNSET


class LocationView(msgspec.Struct, forbid_unknown_fields=True):
    """``context.location`` (Segment's fields)."""

    country: Any = UNSET
    city: Any = UNSET
    region: Any = UNSET
    latitude: Any = UNSET
    longitude: Any = UNSET
    speed: Any = UNSET


class PageView(msgspec.Struct, forbid_unknown_fields=True):
    """``context.page`` (Segment's fields; analytics.js sends all but ``keywords``)."""

    path: Any = UNSET
    referrer: Any = UNSET
    search: Any = UNSET
    title: Any = UNSET
    url: Any = UNSET
    keywords: Any = UNSET


class LibraryView(msgspec.Struct, forbid_unknown_fields=True):
    """``context.library``."""

    name: Any = UNSET
    version: Any = UNSET


class ContextView(msgspec.Struct, forbid_unknown_fields=True):
    """A context with Segment's context fields (and ours, ``intellishop``), in that order.

    ``location``, ``page`` and ``library`` are views too (the fields enrichment reads, and
    cheaper than dicts): one that is neither an object nor null does not fit. The other fields
    are decoded as they come and stored as they are.
    """

    ip: Any = UNSET
    userAgent: Any = UNSET
    locale: Any = UNSET
    timezone: Any = UNSET
    library: LibraryView | msgspec.UnsetType | None = msgspec.UNSET
    location: LocationView | msgspec.UnsetType | None = msgspec.UNSET
    page: PageView | msgspec.UnsetType | None = msgspec.UNSET
    campaign: Any = UNSET
    active: Any = UNSET
    app: Any = UNSET
    device: Any = UNSET
    groupId: Any = UNSET
    instanceId: Any = UNSET
    network: Any = UNSET
    os: Any = UNSET
    referrer: Any = UNSET
    screen: Any = UNSET
    traits: Any = UNSET
    userAgentData: Any = UNSET
    channel: Any = UNSET
    intellishop: Any = UNSET


encode_view = msgspec.json.Encoder().encode
