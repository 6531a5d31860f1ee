"""Who a data-subject request (GDPR erasure or access) is about, across every store.

A person is known to a shop by a user id, by the anonymous ids of their devices and by the
email in their traits. The request is resolved once into the full set of ids (the identities
linked by ``identify`` and ``alias`` calls) and every store then erases or exports by those ids.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Person:
    """The ids of one person within one tenant; a store matches an event by any of them."""

    tenant_id: str
    user_ids: frozenset[str] = frozenset()
    anonymous_ids: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not self.user_ids and not self.anonymous_ids:
            raise ValueError("a person needs at least one user id or anonymous id")
