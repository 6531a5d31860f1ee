"""What the worker looks up and writes per event, batched per event-log read.

Reading the log, the worker asked the store, for every event: who is this anonymous visitor
(``user_of``), what profile has this person (``profile``, once for the country and again for the
rule's conditions), which segments is the person in (``segments_of``), and it wrote the product
view (``record_view``). Six round trips per event: on PostgreSQL that capped the worker at about
1,600 events/s, below the collector's traffic. :class:`ReadBatch` answers those questions for one
read of N entries with a few ``in (...)`` queries at its start, keeps answers current as the
read's own events change them (an alias, a profile), and writes the views in one
``executemany`` at its end, inside the read's one transaction, so a crash still loses all of
the read or none of it.

It is valid for one read only: nothing but the worker's own ingest writes aliases, profiles
or views meanwhile in a way it must see (the same transaction), and segment members change only
when actions fire, which happens after the read.
"""

from __future__ import annotations

from typing import Any

from ingest.event_log import LogEntry

from .store import AutomationStore


class ReadBatch:
    """The store as the ingest of one read sees it: same answers, fewer round trips."""

    def __init__(
        self, store: AutomationStore, entries: list[LogEntry], with_segments: bool
    ) -> None:
        self.store = store
        self._users: dict[tuple[str, str], str | None] = {}
        self._profiles: dict[tuple[str, str], dict[str, Any]] = {}
        self._segments: dict[tuple[str, str], list[str]] = {}
        self._views: dict[tuple[str, str, str], int] = {}
        self._scheduled: list[tuple[Any, ...]] = []
        #: Actions scheduled by the flushes so far (new ones only, as ``schedule`` counts).
        self.scheduled = 0
        self._prefetch(entries, with_segments)

    def _prefetch(self, entries: list[LogEntry], with_segments: bool) -> None:
        anonymous: dict[str, set[str]] = {}
        people: dict[str, set[str]] = {}
        for entry in entries:
            tenant = entry.batch.tenant_id
            for event in entry.batch.events:
                if event.anonymous_id:
                    anonymous.setdefault(tenant, set()).add(event.anonymous_id)
                    people.setdefault(tenant, set()).add(event.anonymous_id)
                if event.user_id:
                    people.setdefault(tenant, set()).add(event.user_id)
        for tenant, ids in anonymous.items():
            ordered = sorted(ids)
            known = self.store.users_of(tenant, ordered)
            for anonymous_id in ordered:
                user = known.get(anonymous_id)
                self._users[(tenant, anonymous_id)] = user
                if user:
                    people[tenant].add(user)
        for tenant, ids in people.items():
            ordered = sorted(ids)
            found = self.store.profiles(tenant, ordered)
            for person in ordered:
                self._profiles[(tenant, person)] = found.get(person, {})
            if with_segments:
                member_of = self.store.segments_of_many(tenant, ordered)
                for person in ordered:
                    self._segments[(tenant, person)] = member_of.get(person, [])

    # --- the store's per-event methods -------------------------------------------------------

    def user_of(self, tenant_id: str, anonymous_id: str) -> str | None:
        key = (tenant_id, anonymous_id)
        if key not in self._users:
            self._users[key] = self.store.user_of(tenant_id, anonymous_id)
        return self._users[key]

    def add_alias(self, tenant_id: str, anonymous_id: str, user_id: str) -> None:
        self.store.add_alias(tenant_id, anonymous_id, user_id)
        self._users[(tenant_id, anonymous_id)] = user_id

    def profile(self, tenant_id: str, person_id: str) -> dict[str, Any]:
        key = (tenant_id, person_id)
        if key not in self._profiles:
            self._profiles[key] = self.store.profile(tenant_id, person_id)
        return self._profiles[key]

    def upsert_profile(
        self,
        tenant_id: str,
        person_id: str,
        email: str | None,
        country: str | None,
        traits: dict[str, Any],
        at_us: int,
    ) -> None:
        self.store.upsert_profile(tenant_id, person_id, email, country, traits, at_us)
        old = self._profiles.get((tenant_id, person_id))
        if old is None:
            return
        # The store's merge, kept here rather than read back.
        self._profiles[(tenant_id, person_id)] = {
            "email": email or old.get("email"),
            "country": country or old.get("country"),
            "traits": {**(old.get("traits") or {}), **traits},
        }

    def segments_of(self, tenant_id: str, person_id: str) -> list[str]:
        key = (tenant_id, person_id)
        if key not in self._segments:
            self._segments[key] = self.store.segments_of(tenant_id, person_id)
        return self._segments[key]

    def record_view(self, tenant_id: str, product_id: str, person_id: str, at_us: int) -> None:
        """Kept until :meth:`flush`; the last view of a (product, person) wins, as in the store."""
        key = (tenant_id, product_id, person_id)
        self._views.pop(key, None)  # keep the order of last occurrence
        self._views[key] = at_us

    def schedule(self, **action: Any) -> None:
        """:meth:`AutomationStore.schedule`, kept until the next flush (counted then)."""
        self._scheduled.append(self.store.scheduled_row(**action))

    def cancel_pending(
        self, tenant_id: str, person_ids: list[str], rule_ids: list[str], before_us: int
    ) -> int:
        """Flushes first: an action scheduled earlier in this read must be cancellable."""
        self.flush_scheduled()
        return self.store.cancel_pending(tenant_id, person_ids, rule_ids, before_us)

    def flush_scheduled(self) -> None:
        self.scheduled += self.store.schedule_many(self._scheduled)
        self._scheduled.clear()

    def flush(self) -> None:
        """Write what was kept: call inside the read's transaction, before its commit."""
        self.flush_scheduled()
        self.store.record_views([(t, p, person, at) for (t, p, person), at in self._views.items()])
        self._views.clear()
