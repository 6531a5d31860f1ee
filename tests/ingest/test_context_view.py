"""The collector's context path (a :class:`ContextView` instead of a dict, remembered within a
batch) stores what the dict path stores, for every shape of context a client may send.

``validate_batch`` decodes each context it has not met yet in the batch into a view and
enriches it there (:meth:`ContextEnricher.view_json`); a context the view does not fit takes
:func:`validate_message`, which decodes it into a dict and runs :meth:`ContextEnricher.in_place`.
Each case here sends an event through both and compares the stored contexts as JSON values, and
checks the rules that hold whatever the path: no duplicate keys, no raw IP unless the tenant
opted in, the same errors for a context that is refused.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from ingest import validation
from ingest.enrichment import ContextEnricher
from ingest.enrichment.context_view import ContextView
from ingest.validation import (
    FieldError,
    body_is_clean,
    decode_envelope,
    validate_batch,
    validate_message,
)
from intellishop.events import LoggedEvent

RECEIVED_US = 1_764_000_000_000_000
GB_IP, US_IP = "81.2.69.160", "8.8.8.8"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
UTM_URL = "https://shop.example/?utm_source=ig&utm_medium=social&utm_campaign=spring"

#: Contexts as JSON text (escapes, duplicate keys and odd spacing survive as sent), by name.
CONTEXTS: dict[str, bytes] = {
    "absent": b"",
    "empty": b"{}",
    "spaced empty": b"{ \n }",
    "ip": b'{"ip": "%s", "userAgent": "%s"}' % (GB_IP.encode(), IPHONE.encode()),
    "ip first and compact": b'{"ip":"%s","locale":"en-GB"}' % GB_IP.encode(),
    "ip last": b'{"locale": "en-GB", "ip": "%s"}' % GB_IP.encode(),
    "ip empty": b'{"ip": "", "locale": "en-GB"}',
    "ip null": b'{"ip": null}',
    "ip a number": b'{"ip": 42}',
    "ip private": b'{"ip": "10.0.0.1"}',
    "ip escaped key": b'{"\\u0069p": "%s"}' % GB_IP.encode(),
    "ip twice": b'{"ip": "8.8.4.4", "ip": "%s"}' % GB_IP.encode(),
    "ip nested only": b'{"traits": {"ip": "%s"}}' % GB_IP.encode(),
    "location with country": b'{"ip": "%s", "location": {"country": "FR", "city": "Lyon"}}'
    % GB_IP.encode(),
    "location without country": b'{"ip": "%s", "location": {"city": "Lyon"}}' % GB_IP.encode(),
    "location empty country": b'{"ip": "%s", "location": {"country": ""}}' % GB_IP.encode(),
    "location null": b'{"ip": "%s", "location": null}' % GB_IP.encode(),
    "location a string": b'{"ip": "%s", "location": "Lyon"}' % GB_IP.encode(),
    "location unknown field": b'{"location": {"country": "FR", "postcode": "69001"}}',
    "client campaign": b'{"campaign": {"name": "x", "source": "y"}, "page": {"url": "%s"}}'
    % UTM_URL.encode(),
    "empty campaign": b'{"campaign": {}, "page": {"url": "%s"}}' % UTM_URL.encode(),
    "campaign a string": b'{"campaign": "spring", "page": {"url": "%s"}}' % UTM_URL.encode(),
    "campaign from url": b'{"page": {"url": "%s", "path": "/", "title": "Home"}}'
    % UTM_URL.encode(),
    "url without utm": b'{"page": {"url": "https://shop.example/?q=1", "referrer": ""}}',
    "page null": b'{"page": null}',
    "page a string": b'{"page": "home"}',
    "page unknown field": b'{"page": {"url": "%s", "hash": "#top"}}' % UTM_URL.encode(),
    "client intellishop": b'{"intellishop": {"is_bot": true}, "userAgent": "%s"}' % IPHONE.encode(),
    "client intellishop null": b'{"intellishop": null}',
    "user agent with escapes": (
        b'{"userAgent": "Caf\\u00e9 \\"Browser\\" \\\\ /1.0 \\ud83d\\ude00"}'
    ),
    "user agent utf-8": '{"userAgent": "Ünïcødé Browser/1.0 😀"}'.encode(),
    "user agent empty": b'{"userAgent": ""}',
    "user agent a number": b'{"userAgent": 7}',
    "user agent twice": b'{"userAgent": "curl/8.0", "userAgent": "%s"}' % IPHONE.encode(),
    "mobile sdk": b'{"app": {"name": "Shop", "build": "1"}, "device": {"type": "ios"}, '
    b'"os": {"name": "iOS"}, "screen": {"width": 390, "height": 844.0, "density": 3}, '
    b'"network": {"wifi": true}, "traits": {"email": "a@b.c"}, "timezone": "Europe/London", '
    b'"library": {"name": "analytics-ios", "version": "4.1.0"}, "instanceId": "i1"}',
    "browser": b'{"library": {"name": "analytics.js", "version": "next-1.76.0"}, "locale": "en", '
    b'"userAgentData": {"brands": [{"brand": "Chromium", "version": "122"}], "mobile": false}, '
    b'"page": {"path": "/p", "referrer": "https://g.co/", "search": "", "title": "P", '
    b'"url": "https://shop.example/p"}, "userAgent": "%s"}' % IPHONE.encode(),
    "unknown field": b'{"custom": {"a": [1, 2.5, null]}, "userAgent": "%s"}' % IPHONE.encode(),
    "library unknown field": b'{"library": {"name": "x", "flavour": "y"}}',
    "explicit nulls": b'{"locale": null, "userAgent": null, "campaign": null}',
    "numbers": (
        b'{"screen": {"width": 1.0e3, "height": 1E2, "big": 123456789012345678901234567890}}'
    ),
    "big exponent in a string": b'{"userAgent": "Mobile/15E148 and 1e400"}',
}


def _body(context: bytes, envelope_context: dict[str, Any] | None) -> bytes:
    event = b'{"type": "track", "event": "Signed Up", "userId": "u1", "messageId": "m1"'
    event += b', "context": ' + context + b"}" if context else b"}"
    envelope = b', "context": ' + json.dumps(envelope_context).encode() if envelope_context else b""
    return b'{"batch": [' + event + b"]" + envelope + b"}"


#: The collector's limits and receive time, as both paths are given them.
LIMITS: dict[str, Any] = {
    "received_at_us": RECEIVED_US,
    "envelope_sent_at": None,
    "max_event_bytes": 32 * 1024,
    "max_future_us": 3600 * 1_000_000,
}


def _collect(
    body: bytes, enrich: Any, enrich_view: Any
) -> tuple[list[LoggedEvent], list[tuple[int, list[FieldError]]]]:
    """validate_batch as the batch route calls it, with these enrichments."""
    batch = validate_batch(
        body,
        enrich=enrich,
        enrich_view=enrich_view,
        **{name: value for name, value in LIMITS.items() if name != "envelope_sent_at"},
    )
    return batch.accepted, batch.rejected


def _both_paths(
    body: bytes, enricher: ContextEnricher
) -> tuple[LoggedEvent | list[FieldError], LoggedEvent | list[FieldError]]:
    """One event's outcome on the collector's path (validate_batch) and on the dict path."""
    assert body_is_clean(body)
    envelope = decode_envelope(body)
    accepted, rejected = _collect(body, enricher.in_place, enricher.view_json)
    fast = accepted[0] if accepted else rejected[0][1]
    full = validate_message(
        envelope.batch[0], envelope_context=envelope.context, enrich=enricher.in_place, **LIMITS
    )
    return fast, full


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    assert len(keys) == len(set(keys)), f"duplicate keys in a stored context: {keys}"
    return dict(pairs)


def _stored(event: LoggedEvent) -> dict[str, Any]:
    stored: dict[str, Any] = json.loads(event.context, object_pairs_hook=_unique_keys)
    return stored


ENRICHERS = {
    "private": ContextEnricher(US_IP, store_ip=False),
    "store ip": ContextEnricher(US_IP, store_ip=True),
    "no request ip": ContextEnricher(None, store_ip=True),
    "private ip, no request ip": ContextEnricher(None, store_ip=False),
}


@pytest.mark.parametrize("enricher_name", sorted(ENRICHERS))
@pytest.mark.parametrize("name", sorted(CONTEXTS))
def test_the_view_path_stores_what_the_dict_path_stores(name: str, enricher_name: str) -> None:
    enricher = ENRICHERS[enricher_name]
    fast, full = _both_paths(_body(CONTEXTS[name], None), enricher)
    assert isinstance(fast, LoggedEvent) and isinstance(full, LoggedEvent)
    assert _stored(fast) == _stored(full)
    assert msgspec.structs.replace(fast, context=b"") == msgspec.structs.replace(full, context=b"")
    if not enricher.store_ip:
        assert GB_IP.encode() not in fast.context or name == "ip nested only"
        assert "ip" not in _stored(fast)


@pytest.mark.parametrize("name", ["ip", "ip twice", "ip escaped key", "ip last"])
def test_the_sent_ip_is_never_stored_unless_opted_in(name: str) -> None:
    fast, _ = _both_paths(_body(CONTEXTS[name], None), ENRICHERS["private"])
    assert isinstance(fast, LoggedEvent)
    assert b'"ip"' not in fast.context and b"8.8.4.4" not in fast.context
    assert _stored(fast)["location"] == {"country": "GB"}  # from the sent IP, not the request's

    kept, _ = _both_paths(_body(CONTEXTS[name], None), ENRICHERS["store ip"])
    assert isinstance(kept, LoggedEvent)
    assert _stored(kept)["ip"] == GB_IP


@pytest.mark.parametrize(
    "envelope_context",
    [{"locale": "fr-FR"}, {"ip": GB_IP, "userAgent": IPHONE}, {"intellishop": {"x": 1}}],
)
@pytest.mark.parametrize("name", ["absent", "empty", "ip", "location without country", "browser"])
def test_an_envelope_context_is_merged_as_before(
    name: str, envelope_context: dict[str, Any]
) -> None:
    fast, full = _both_paths(_body(CONTEXTS[name], envelope_context), ENRICHERS["private"])
    assert isinstance(fast, LoggedEvent) and isinstance(full, LoggedEvent)
    assert _stored(fast) == _stored(full)
    assert "ip" not in _stored(fast)


#: Contexts the view does not fit (a field it does not name, or a view field of another type):
#: the dict path serves them. Every other context must be served by the view.
NOT_FITTING = [
    "location a string",
    "location unknown field",
    "page a string",
    "page unknown field",
    "unknown field",
    "library unknown field",
]
FITTING = sorted(set(CONTEXTS) - set(NOT_FITTING))


@pytest.mark.parametrize("name", FITTING)
def test_fitting_contexts_take_the_view_path(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Guards the comparison above: these cases are compared with the dict path, not with
    themselves (a view that silently failed to decode would fall back for them all)."""
    enricher = ENRICHERS["private"]
    compared, _ = _both_paths(_body(CONTEXTS[name], None), enricher)

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("took the dict path")

    monkeypatch.setattr(validation, "validate_message", refuse)
    accepted, rejected = _collect(_body(CONTEXTS[name], None), refuse, enricher.view_json)
    assert rejected == [] and accepted == [compared]


@pytest.mark.parametrize("name", NOT_FITTING)
def test_contexts_the_view_does_not_fit_take_the_dict_path(name: str) -> None:
    """The other cases are not a view: the dict path (``enrich``) serves them in the batch."""
    calls: list[dict[str, Any]] = []

    def counted(context: dict[str, Any]) -> dict[str, Any]:
        calls.append(context)
        return ENRICHERS["private"].in_place(context)

    _collect(_body(CONTEXTS[name], None), counted, ENRICHERS["private"].view_json)
    assert len(calls) == 1


@pytest.mark.parametrize(
    "context",
    [
        b'{"traits": {"x": 1e400}}',
        b'{"custom": -2E+308}',
        b'{"screen": {"width": 1e999}}',
        b'{"location": {"latitude": 1e400}}',
        b"[1, 2]",
        b'"a string"',
        b"null",
    ],
)
def test_a_refused_context_gets_the_same_error(context: bytes) -> None:
    fast, full = _both_paths(_body(context, None), ENRICHERS["private"])
    assert isinstance(fast, list) and fast == full
    assert fast[0].field.startswith("context")


ORDERS = {
    # Each context twice in a row: the batch's memory of contexts stays on.
    "met again at once": [name for name in FITTING for _ in range(2)],
    # Every context once, then again: no repeat in the first events, so the memory turns off.
    "met again later": FITTING + FITTING[::-1],
    # Every shape, then again: the first context the view does not fit turns views off.
    "every shape": sorted(CONTEXTS) + sorted(CONTEXTS, reverse=True),
}


@pytest.mark.parametrize("order", sorted(ORDERS))
@pytest.mark.parametrize("enricher_name", sorted(ENRICHERS))
def test_contexts_met_again_in_a_batch_are_stored_alike(enricher_name: str, order: str) -> None:
    """Every shape twice in one batch: each event stores what the dict path stores for it,
    whether its context is answered from the batch's memory or enriched again."""
    enricher = ENRICHERS[enricher_name]
    names = ORDERS[order]
    events = [
        b'{"type": "track", "event": "E%d", "userId": "u%d"%s}'
        % (i, i, b', "context": ' + CONTEXTS[name] if CONTEXTS[name] else b"")
        for i, name in enumerate(names)
    ]
    body = b'{"batch": [' + b", ".join(events) + b"]}"
    envelope = decode_envelope(body)
    views: list[ContextView] = []

    def counted(view: ContextView) -> bytes:
        views.append(view)
        return enricher.view_json(view)

    accepted, rejected = _collect(body, enricher.in_place, counted)
    assert rejected == [] and len(accepted) == len(events)
    distinct = len({CONTEXTS[name] or b"{}" for name in FITTING})  # absent is "{}"
    if order == "met again at once":
        assert len(views) == distinct  # every repeat answered from memory
    elif order == "met again later":
        assert len(views) > distinct  # memory off: repeats enriched again
    else:  # no view after the first context that is not one (sorted: "library unknown field")
        assert len(views) <= sorted(CONTEXTS).index("library unknown field")
    for raw, fast in zip(envelope.batch, accepted, strict=True):
        full = validate_message(raw, envelope_context=None, enrich=enricher.in_place, **LIMITS)
        assert isinstance(full, LoggedEvent)
        assert (fast.event, _stored(fast)) == (full.event, _stored(full))
