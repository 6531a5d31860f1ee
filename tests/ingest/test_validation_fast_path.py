"""The collector's fast validation path gives the same answers as the full one.

``validate_batch`` takes shortcuts for the common case (one memchr instead of a NUL-escape
search, remembered e-commerce properties, the steps inlined); these tests pin that every
shortcut still says what the full checks say.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from ingest import validation
from ingest.validation import body_is_clean, decode_envelope, validate_batch, validate_message
from intellishop.events import LoggedEvent

RECEIVED_US = 1_764_000_000_000_000
PRODUCT = {"product_id": "p1", "name": "Trail Runners", "price": 55.99, "currency": "USD"}


def _event(**fields: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "event": "Product Viewed",
        "userId": "u1",
        "timestamp": "2025-11-24T10:00:00.000Z",
        "properties": PRODUCT,
        **fields,
    }


def _validate(body: bytes) -> tuple[list[LoggedEvent], list[tuple[int, list[Any]]]]:
    batch = validate_batch(
        body,
        received_at_us=RECEIVED_US,
        max_event_bytes=32 * 1024,
        max_future_us=3600 * 1_000_000,
    )
    return batch.accepted, batch.rejected


@pytest.mark.parametrize(
    ("body", "clean"),
    [
        (b'{"a": "plain"}', True),
        (b'{"a": "quote \\" and slash \\\\ and \\u00e9"}', True),
        (b'{"a": "nul \\u0000 escaped"}', False),
        (b'{"a": "raw nul \x00"}', False),
        (b'{"a": "escaped backslash, not a NUL: \\\\u0000"}', False),  # per event decides
        (b'{"a": "\xff invalid utf-8"}', False),
    ],
)
def test_body_is_clean_finds_nul_with_or_without_other_escapes(body: bytes, clean: bool) -> None:
    assert body_is_clean(body) is clean


def test_fast_path_stores_what_the_full_path_stores() -> None:
    batch = [
        _event(),
        _event(sentAt="2025-11-24T10:00:05.000Z"),
        _event(type="page", event=None, name="Home", properties={"path": "/"}),
        _event(type="identify", event=None, traits={"email": "a@b.c"}),
        _event(timestamp=None, messageId="m-given"),
    ]
    batch = [{k: v for k, v in e.items() if v is not None} for e in batch]
    body = msgspec.json.encode({"batch": batch, "sentAt": "2025-11-24T10:00:10.000Z"})
    accepted, rejected = _validate(body)
    assert rejected == []
    envelope = decode_envelope(body)
    for raw, fast in zip(envelope.batch, accepted, strict=True):
        full = validate_message(
            raw,
            received_at_us=RECEIVED_US,
            envelope_sent_at=envelope.sentAt,
            envelope_context=None,
            max_event_bytes=32 * 1024,
            max_future_us=3600 * 1_000_000,
        )
        assert full == fast
    # Clock-skew correction: sent 10 s after the event by the client's clock, so 10 s before
    # receipt by ours; the per-event sentAt (5 s) wins over the envelope's.
    assert accepted[0].timestamp_us == RECEIVED_US - 10_000_000
    assert accepted[1].timestamp_us == RECEIVED_US - 5_000_000
    assert accepted[4].timestamp_us == RECEIVED_US


def test_remembered_ecommerce_properties_never_let_bad_ones_through() -> None:
    validation._VALID_ECOMMERCE.clear()
    bad = {**PRODUCT, "price": "free"}
    loose = {**PRODUCT, "products": "none"}  # an unknown key to a product, typed in an order
    body = msgspec.json.encode(
        {
            "batch": [
                _event(properties=loose),  # valid for a product event: remembered
                _event(properties=loose),  # the same bytes: answered from memory
                _event(properties=bad),  # never remembered...
                _event(properties=bad),  # ...so rejected every time
                # The remembered bytes under an event whose ``products`` must be a list.
                _event(event="Order Completed", properties=loose),
            ]
        }
    )
    accepted, rejected = _validate(body)
    assert len(accepted) == 2
    assert [index for index, _ in rejected] == [2, 3, 4]
    assert rejected[0][1][0].field == "properties.price"
    assert rejected[2][1][0].field == "properties.products"
    assert ("Product Viewed", json.dumps(loose, separators=(",", ":")).encode()) in (
        validation._VALID_ECOMMERCE
    )
    assert all(key[0] != "Order Completed" for key in validation._VALID_ECOMMERCE)


def test_the_memory_of_valid_properties_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    validation._VALID_ECOMMERCE.clear()
    monkeypatch.setattr(validation, "MAX_VALID_ECOMMERCE", 3)
    batch = [_event(properties={**PRODUCT, "product_id": f"p{i}"}) for i in range(10)]
    batch.append(_event(properties={**PRODUCT, "notes": "x" * 4000}))  # too big to remember
    accepted, rejected = _validate(msgspec.json.encode({"batch": batch}))
    assert (len(accepted), rejected) == (11, [])
    assert 1 <= len(validation._VALID_ECOMMERCE) <= 3


def _padded(padding: int, **fields: Any) -> bytes:
    """An event's JSON with ``padding`` spaces between its fields: bytes of the message that
    are in none of its kept JSON texts (properties, traits, context)."""
    encoded = msgspec.json.encode(_event(**fields))
    return encoded[:-1] + b" " * padding + b"}"


def _batch_of(*messages: bytes) -> bytes:
    return b'{"batch": [' + b", ".join(messages) + b"]}"


def _refuse_message_by_message(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("took the message-by-message path")

    monkeypatch.setattr(validation, "validate_message", refuse)


def test_an_event_over_the_limit_outside_its_texts_is_still_refused() -> None:
    """The whole-batch decode bounds each message's size by its texts plus every byte outside
    them; a message whose own bytes, not its texts, pass 32 KB is found and refused."""
    body = _batch_of(_padded(0), _padded(33 * 1024), _padded(0))
    accepted, rejected = _validate(body)
    assert len(accepted) == 2
    assert [(index, errors[0].reason) for index, errors in rejected] == [(1, "too_large")]
    assert rejected[0][1][0].message.startswith(f"event is {len(_padded(33 * 1024))} bytes")


def test_a_batch_the_bound_cannot_vouch_for_is_measured_message_by_message_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Three messages of 20 KB outside their texts: the bound (60 KB) says nothing, their own
    sizes (20 KB each) pass, and the batch is still accepted in one decode."""
    _refuse_message_by_message(monkeypatch)
    body = _batch_of(*(_padded(20 * 1024, messageId=f"m{i}") for i in range(3)))
    accepted, rejected = _validate(body)
    assert rejected == [] and [event.message_id for event in accepted] == ["m0", "m1", "m2"]


def test_a_batch_of_good_messages_is_decoded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ids derived from each message's own bytes, as the message-by-message path derives them."""
    body = _batch_of(_padded(0), _padded(5), _padded(0, messageId="given"))
    envelope = decode_envelope(body)
    derived = [
        validate_message(
            raw,
            received_at_us=RECEIVED_US,
            envelope_sent_at=None,
            envelope_context=None,
            max_event_bytes=32 * 1024,
            max_future_us=3600 * 1_000_000,
        )
        for raw in envelope.batch
    ]
    _refuse_message_by_message(monkeypatch)
    accepted, rejected = _validate(body)
    assert rejected == [] and accepted == derived
    assert accepted[0].message_id != accepted[1].message_id  # the padding is part of the bytes
    assert accepted[2].message_id == "given"
