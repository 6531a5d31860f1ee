"""Turning request bodies into logged events, with an error for every event that is wrong.

Every rejection names the event's index in the batch and the field at fault, so a shop developer
can fix the client without guessing. Good events of a partly bad batch are kept.
"""

from __future__ import annotations

import hashlib
import re
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from ingest.enrichment.context_view import ContextView
from intellishop.ecommerce import PROPERTIES_BY_EVENT
from intellishop.events import LoggedEvent, Message, to_micros

MAX_EVENT_NAME_LENGTH = 200
MAX_ID_LENGTH = 255
#: Events before the Unix epoch are clock or encoding bugs (and break day partitioning).
MIN_TIMESTAMP_US = 0
#: Content types a Segment client sends: JSON, or text/plain (analytics.js beacons avoid a
#: CORS preflight that way). A missing Content-Type is taken as JSON.
ACCEPTED_CONTENT_TYPES = frozenset({"application/json", "text/plain"})

_json = msgspec.json.Encoder()
_path_in_message = re.compile(r" - at `\$(?:\.)?(?P<path>[^`]*)`$")
_unknown_field = re.compile(r"unknown field `([^`]*)`")
_missing_field = re.compile(r"missing required field `([^`]*)`")

#: Rewrites the context of each accepted event (enrichment); see :mod:`ingest.enrichment`.
ContextEnrichment = Callable[[dict[str, Any]], dict[str, Any]]
#: The same enrichment on a :class:`ContextView`, which it changes, returning the JSON to store
#: (see :meth:`ingest.enrichment.ContextEnricher.view_json`); the answer for a given context
#: must not change within a batch (:func:`validate_batch` remembers it).
ViewEnrichment = Callable[[ContextView], bytes]


#: Contexts of a batch looked up before :func:`validate_batch` judges whether they repeat
#: (a quarter of them met again), and stops looking them up in that batch if not; a longer
#: trial cost batches of distinct contexts more than it gained (measured with 8 and 16).
MEMO_TRIAL_EVENTS = 8
#: An absent ``properties`` or ``traits``, and an absent ``context``: one default object each,
#: told by identity (neither is part of the body, so neither counts in its size).
_NO_OBJECT = msgspec.Raw(b"{}")
_NO_CONTEXT = msgspec.Raw(b"{}")


class WireMessage(Message, forbid_unknown_fields=True):
    """:class:`Message` as decoded at ingest: ``properties`` and ``traits`` stay JSON text.

    They are stored as JSON text anyway, so decoding them into dicts only to encode them again
    was most of the cost of an event; they are checked to be JSON objects (valid UTF-8, and
    typed for e-commerce events) without that round trip, and stored as the client sent them.
    """

    properties: msgspec.Raw = _NO_OBJECT  # type: ignore[assignment]
    traits: msgspec.Raw = _NO_OBJECT  # type: ignore[assignment]


class BatchWireMessage(WireMessage, forbid_unknown_fields=True):
    """:class:`WireMessage` as a batch's messages are decoded, all in one pass with their
    envelope (:class:`WholeBatch`): ``context`` as JSON text too, for :class:`_BatchContexts`."""

    context: msgspec.Raw = _NO_CONTEXT  # type: ignore[assignment]


class BatchEnvelope(msgspec.Struct, forbid_unknown_fields=False):
    """Segment's batch body: ``batch`` plus defaults applied to every message."""

    batch: list[msgspec.Raw]
    sentAt: datetime | None = None
    context: dict[str, Any] | None = None


class WholeBatch(msgspec.Struct, forbid_unknown_fields=False):
    """:class:`BatchEnvelope` with its messages decoded in the same pass (see
    :func:`validate_batch`): it decodes only when every message does."""

    batch: list[BatchWireMessage]
    sentAt: datetime | None = None
    context: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class FieldError:
    """What is wrong and where; ``reason`` is a short category for metrics, not shown."""

    field: str
    message: str
    reason: str = "invalid"

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class RequestError(Exception):
    """A whole request refused before its events are looked at (status and client message)."""

    def __init__(self, status_code: int, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.field = field


def field_error_from_msgspec(
    error: msgspec.ValidationError | msgspec.DecodeError,
    *,
    prefix: str = "",
    reason: str = "schema",
) -> FieldError:
    """msgspec's error as a field path (``properties.products[1].price``) and a message."""
    text = str(error)
    match = _path_in_message.search(text)
    path, message = (match.group("path"), text[: match.start()]) if match else ("", text)
    named = _unknown_field.search(message) or _missing_field.search(message)
    if named:
        path = f"{path}.{named.group(1)}" if path else named.group(1)
    if prefix:
        path = f"{prefix}.{path}" if path and not path.startswith("[") else f"{prefix}{path}"
    return FieldError(field=path or "$", message=message, reason=reason)


def check_content_type(content_type: str | None) -> None:
    """Refuse bodies that are not JSON (415) before reading them."""
    if not content_type:
        return
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type not in ACCEPTED_CONTENT_TYPES:
        raise RequestError(
            415, f"Content-Type {media_type!r} is not supported: send application/json"
        )


def decode_content(body: bytes, content_encoding: str | None, limit: int) -> bytes:
    """The body with its Content-Encoding undone; gzip is inflated to at most ``limit`` bytes.

    Inflating is bounded, so a gzip bomb costs ``limit`` bytes of memory and a 413, not the
    process.
    """
    encoding = (content_encoding or "identity").strip().lower()
    if encoding == "identity":
        return body
    if encoding not in ("gzip", "x-gzip"):
        raise RequestError(415, f"Content-Encoding {encoding!r} is not supported: use gzip")
    inflater = zlib.decompressobj(wbits=31)  # 31: gzip header and trailer
    try:
        inflated = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise RequestError(400, f"the gzip body is corrupt: {exc}") from exc
    if len(inflated) > limit or inflater.unconsumed_tail:
        raise RequestError(413, f"the body inflates to more than {limit} bytes, the limit")
    if not inflater.eof:
        raise RequestError(400, "the gzip body is truncated")
    return inflated


def decode_envelope(body: bytes) -> BatchEnvelope:
    """A batch body's envelope; malformed JSON (including invalid UTF-8) is a RequestError."""
    try:
        envelope = _decode_envelope(body)
    except msgspec.ValidationError as exc:  # a DecodeError subclass: catch it first
        error = field_error_from_msgspec(exc)
        raise RequestError(422, f"{error.field}: {error.message}", field=error.field) from exc
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise RequestError(400, f"malformed JSON: {exc}") from exc
    except RecursionError as exc:
        raise RequestError(400, "malformed JSON: nested too deeply") from exc
    # Each message is checked for NUL on its own (a bad event must not sink the batch); the
    # envelope's context is merged into all of them, so it is checked here.
    if envelope.context and _has_nul(_json.encode(envelope.context)):
        raise RequestError(400, "context contains a NUL character (\\u0000)", field="context")
    return envelope


def decode_object(body: bytes) -> dict[str, Any]:
    """A single-message body as a JSON object, with the same errors as :func:`decode_envelope`."""
    _refuse_nul(body)
    try:
        decoded = msgspec.json.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise RequestError(400, f"malformed JSON: {exc}") from exc
    except RecursionError as exc:
        raise RequestError(400, "malformed JSON: nested too deeply") from exc
    if not isinstance(decoded, dict):
        raise RequestError(422, "the body must be a JSON object", field="$")
    return decoded


def _refuse_nul(body: bytes) -> None:
    if _has_nul(body):
        raise RequestError(400, "the body contains a NUL character (\\u0000); strip it")


def _has_nul(raw: bytes) -> bool:
    """A raw NUL byte, or a JSON ``\\u0000`` escape (not an escaped backslash before ``u0000``).

    NUL cannot be stored in PostgreSQL text or jsonb, so it is refused at the door rather than
    failing the loader later.
    """
    if b"\x00" in raw:
        return True
    start = raw.find(b"\\u0000")
    while start != -1:
        backslashes = 0
        position = start - 1
        while position >= 0 and raw[position] == 0x5C:
            backslashes += 1
            position -= 1
        if backslashes % 2 == 0:
            return True
        start = raw.find(b"\\u0000", start + 1)
    return False


def body_is_clean(body: bytes) -> bool:
    """True when the whole body is valid UTF-8 and holds no NUL (raw or ``\\u0000``).

    One scan of the body replaces one per event: a clean body's events need neither check, and
    only a body that fails it pays for the per-event checks that say which event is at fault.
    """
    # ``\\`` first: one memchr; a body with no backslash has no ``\\u0000`` escape, and the
    # six-byte substring search it spares cost more than the rest of this check.
    if b"\x00" in body or (b"\\" in body and b"\\u0000" in body):
        return False
    try:
        body.decode()
    except UnicodeDecodeError:
        return False
    return True


def validate_message(
    raw: bytes | msgspec.Raw,
    *,
    received_at_us: int,
    envelope_sent_at: datetime | None,
    envelope_context: dict[str, Any] | None,
    max_event_bytes: int,
    max_future_us: int,
    forced_type: str | None = None,
    enrich: ContextEnrichment | None = None,
    clean: bool = False,
) -> LoggedEvent | list[FieldError]:
    """One message, checked; either the event to log or every error found.

    Track events named in Segment's e-commerce spec have their properties checked against the
    typed product and order objects of :mod:`intellishop.ecommerce`; other names are custom
    events. ``enrich`` rewrites the context of an accepted event (country, device, bot flag);
    it may change the dict it is given (each event's context is decoded for it alone).
    ``clean`` says the caller checked the whole body with :func:`body_is_clean`.

    This runs once per event at up to 100,000 events a second, so the common case (a valid
    event) takes the fewest steps: each check is one comparison, and the error lists are only
    built for an event that fails one.
    """
    size = len(raw)
    if size > max_event_bytes:
        return [
            FieldError("$", f"event is {size} bytes; the limit is {max_event_bytes}", "too_large")
        ]
    if not clean:
        data = bytes(raw)
        if (b"\\u0000" in data or b"\x00" in data) and _has_nul(data):
            return [FieldError("$", "contains a NUL character (\\u0000)", "nul_character")]
        try:
            data.decode()  # the JSON-text parts are not decoded below: check UTF-8 here, once
        except UnicodeDecodeError:
            return [FieldError("$", "malformed JSON: invalid UTF-8", "schema")]
    try:
        message = _decode_wire_message(raw)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        return [field_error_from_msgspec(exc)]
    except RecursionError:
        return [FieldError("$", "nested too deeply", "schema")]
    message_type = message.type
    if forced_type is not None and message_type != forced_type:
        return [FieldError("type", f"this endpoint takes '{forced_type}' messages", "wrong_type")]

    properties, traits = bytes(message.properties), bytes(message.traits)
    errors = [] if _passes_checks(message, properties, traits) else _message_errors(message)
    timestamp_us, sent_at_us = _event_times(
        message,
        to_micros(envelope_sent_at) if envelope_sent_at is not None else None,
        received_at_us,
    )
    if timestamp_us - received_at_us > max_future_us:
        errors.append(
            FieldError("timestamp", "is in the future (check the client's clock)", "timestamp")
        )
    elif timestamp_us < MIN_TIMESTAMP_US:
        errors.append(
            FieldError("timestamp", "is before 1970 (check the client's clock)", "timestamp")
        )
    if sent_at_us is not None and sent_at_us < MIN_TIMESTAMP_US:
        errors.append(
            FieldError("sentAt", "is before 1970 (check the client's clock)", "timestamp")
        )
    if errors:
        return errors
    return _logged_event(
        raw, message, timestamp_us, sent_at_us, received_at_us, envelope_context, enrich
    )


class _BatchContexts:
    """The JSON to store for each context of a batch, from the client's JSON text of it.

    Events of a batch often share their context (one visitor, one page), so the stored JSON is
    remembered by the client's text for the rest of the batch, while that pays: if fewer than a
    quarter of the first :data:`MEMO_TRIAL_EVENTS` contexts were met before, the batch stops
    looking them up. A context met first is decoded into a :class:`ContextView` (cheaper to
    build, enrich and encode than a dict) until one does not fit it (a field the view does not
    name: that client sends it every time), then into a dict. With no envelope context to merge
    only: the view has no place for the envelope's fields.
    """

    __slots__ = (
        "_enrich",
        "_enrich_view",
        "_envelope",
        "_met",
        "_met_again",
        "_remember",
        "_stored",
        "_try_views",
    )

    def __init__(
        self,
        envelope_context: dict[str, Any] | None,
        enrich: ContextEnrichment | None,
        enrich_view: ViewEnrichment | None,
    ) -> None:
        self._envelope = envelope_context
        self._enrich = enrich
        self._enrich_view = enrich_view if not envelope_context else None
        self._stored: dict[bytes, bytes] = {}
        self._remember = True
        self._try_views = self._enrich_view is not None
        self._met = self._met_again = 0

    def stored(self, context: msgspec.Raw) -> bytes | None:
        """The context to store, merged and enriched; None when it is not a JSON object (the
        caller's full path then says why)."""
        key = None
        if self._remember:
            key = bytes(context)
            stored = self._stored.get(key)
            self._met += 1
            if stored is not None:
                self._met_again += 1
                return stored
            if self._met == MEMO_TRIAL_EVENTS and self._met_again < MEMO_TRIAL_EVENTS // 4:
                self._remember = False  # contexts hardly repeat in this batch
        stored = self._from_view(context) if self._try_views else None
        if stored is None:
            stored = self._from_dict(context)
        if key is not None and stored is not None:
            self._stored[key] = stored
        return stored

    def _from_view(self, context: msgspec.Raw) -> bytes | None:
        try:
            view = _decode_context_view(context)
        except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
            self._try_views = False
            return None
        assert self._enrich_view is not None  # (it is, with _try_views)
        return self._enrich_view(view)

    def _from_dict(self, context: msgspec.Raw) -> bytes | None:
        try:
            as_dict = _decode_context(context)
        except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
            return None  # not an object, ...: validate_message says why
        if self._envelope:
            as_dict = {**self._envelope, **as_dict}
        if self._enrich is not None:
            as_dict = self._enrich(as_dict)
        return _json.encode(as_dict)


@dataclass(slots=True)
class ValidatedBatch:
    """A batch body, checked: how many messages it held, the events to log (in batch order)
    and, by index, every error of each rejected message."""

    size: int
    accepted: list[LoggedEvent]
    rejected: list[tuple[int, list[FieldError]]]


def validate_batch(
    body: bytes,
    *,
    received_at_us: int,
    max_event_bytes: int,
    max_future_us: int,
    enrich: ContextEnrichment | None = None,
    enrich_view: ViewEnrichment | None = None,
) -> ValidatedBatch:
    """A ``POST /v1/batch`` body's messages, checked; a malformed envelope is a RequestError.

    The collector's hot path (100 events a request, up to 100,000 events a second). A clean
    body (:func:`body_is_clean`) is first decoded whole, its messages typed in the same pass
    (:class:`WholeBatch`): JSON parsed once instead of split into messages and then each
    message parsed again. If every message passes, that is the answer
    (:func:`_accept_whole_batch`); a batch with any message at fault, or a body that is not
    clean, goes message by message through :func:`validate_message`, which lists every error
    and keeps the good events. The other arguments are those of :func:`validate_message`;
    ``enrich_view`` is ``enrich`` done on a :class:`ContextView`.
    """
    clean = body_is_clean(body)
    if clean:
        try:
            whole: WholeBatch | None = _decode_whole_batch(body)
        except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
            whole = None  # the message-by-message path below says what is wrong
        if whole is not None and whole.batch:
            accepted = _accept_whole_batch(
                whole, body, received_at_us, max_event_bytes, max_future_us, enrich, enrich_view
            )
            if accepted is not None:
                return ValidatedBatch(len(whole.batch), accepted, [])
    envelope = decode_envelope(body)
    batch = ValidatedBatch(len(envelope.batch), [], [])
    for index, raw in enumerate(envelope.batch):
        outcome = validate_message(
            raw,
            received_at_us=received_at_us,
            envelope_sent_at=envelope.sentAt,
            envelope_context=envelope.context,
            max_event_bytes=max_event_bytes,
            max_future_us=max_future_us,
            enrich=enrich,
            clean=clean,
        )
        if isinstance(outcome, LoggedEvent):
            batch.accepted.append(outcome)
        else:
            batch.rejected.append((index, outcome))
    return batch


def _accept_whole_batch(
    whole: WholeBatch,
    body: bytes,
    received_at_us: int,
    max_event_bytes: int,
    max_future_us: int,
    enrich: ContextEnrichment | None,
    enrich_view: ViewEnrichment | None,
) -> list[LoggedEvent] | None:
    """The events of a wholly decoded batch, or None as soon as one message fails a check.

    Each message costs the quick checks of :func:`_passes_checks`, its corrected times and its
    enriched context (a context already met in the batch costs a dict lookup: see
    :class:`_BatchContexts`), inlined. Two things need a message's own bytes, which one decode
    of the whole body does not give: its size (the 32 KB limit) and the id derived from its
    bytes when it has no ``messageId``. The size is bounded without them: the JSON texts kept
    of a message (properties, traits, context) are part of its bytes, so no message is longer
    than its own texts plus all the body's bytes outside every message's texts. Only a batch
    that bound cannot vouch for, or a message without an id, has the body split into its
    messages' bytes (:func:`decode_envelope`), once.
    """
    messages = whole.batch
    no_object = _NO_OBJECT
    no_context = _NO_CONTEXT
    texts = largest = 0
    for message in messages:
        properties_raw = message.properties
        traits_raw = message.traits
        context_raw = message.context
        size = (
            (0 if properties_raw is no_object else len(properties_raw))
            + (0 if traits_raw is no_object else len(traits_raw))
            + (0 if context_raw is no_context else len(context_raw))
        )
        texts += size
        if size > largest:
            largest = size
    raws: list[msgspec.Raw] | None = None
    if largest + len(body) - texts > max_event_bytes:
        raws = _decode_envelope(body).batch
        if any(len(raw) > max_event_bytes for raw in raws):
            return None
    accepted: list[LoggedEvent] = []
    append = accepted.append
    envelope_sent_us = to_micros(whole.sentAt) if whole.sentAt is not None else None
    contexts = _BatchContexts(whole.context, enrich, enrich_view)
    passes = _passes_checks
    micros = to_micros
    latest_us = received_at_us + max_future_us
    for index, message in enumerate(messages):
        properties = b"{}" if message.properties is no_object else bytes(message.properties)
        traits = b"{}" if message.traits is no_object else bytes(message.traits)
        if not passes(message, properties, traits):
            return None
        sent_at = message.sentAt
        sent_at_us = envelope_sent_us if sent_at is None else micros(sent_at)
        timestamp = message.timestamp or message.originalTimestamp
        if timestamp is None:
            timestamp_us = received_at_us
        elif sent_at_us is None:
            timestamp_us = micros(timestamp)
        else:  # Segment's clock-skew correction, as in _event_times
            timestamp_us = received_at_us - (sent_at_us - micros(timestamp))
        if not (
            MIN_TIMESTAMP_US <= timestamp_us <= latest_us
            and (sent_at_us is None or sent_at_us >= MIN_TIMESTAMP_US)
        ):
            return None
        context = contexts.stored(message.context)
        if context is None:
            return None
        message_id = message.messageId
        if message_id is None:
            if raws is None:
                raws = _decode_envelope(body).batch
            message_id = _derived_message_id(bytes(raws[index]))
        # as _logged_event builds it, inlined: a shared helper measured 1.2 % more instructions
        # per event of this path (cachegrind), on the collector's hottest loop
        message_type = message.type
        append(
            LoggedEvent(
                message_id,
                message_type,
                message.event if message_type == "track" else message.name,
                message.userId,
                message.anonymousId,
                timestamp_us,
                sent_at_us,
                received_at_us,
                properties,
                traits,
                context,
                message.previousId,
            )
        )
    return accepted


def _passes_checks(message: WireMessage, properties: bytes, traits: bytes) -> bool:
    """True when the message has none of the errors :func:`_message_errors` lists (ids, event
    name, e-commerce properties, object-typed properties and traits): one comparison each.

    ``properties`` and ``traits`` are the message's, as bytes: the logged event needs them so,
    and indexing bytes costs a fraction of indexing a ``memoryview`` of the ``Raw``."""
    user_id = message.userId
    anonymous_id = message.anonymousId
    message_id = message.messageId
    previous_id = message.previousId
    message_type = message.type
    if (
        (not user_id and not anonymous_id)
        or (user_id is not None and len(user_id) > MAX_ID_LENGTH)
        or (anonymous_id is not None and len(anonymous_id) > MAX_ID_LENGTH)
        or (message_id is not None and len(message_id) > MAX_ID_LENGTH)
        or (previous_id is not None and len(previous_id) > MAX_ID_LENGTH)
        or (message_type == "alias" and not previous_id)
        or properties[0] != _OPEN_BRACE
        or traits[0] != _OPEN_BRACE
    ):
        return False
    if message_type == "track":
        event = message.event
        if not event or len(event) > MAX_EVENT_NAME_LENGTH or not event.strip():
            return False
        decoder = _ECOMMERCE_DECODERS.get(event)
        if decoder is not None:
            return _ecommerce_properties_pass(event, decoder, properties)
    return True


#: E-commerce properties already found valid, by event name and exact bytes (see below).
_VALID_ECOMMERCE: dict[tuple[str, bytes], None] = {}
#: Entries kept at most (the cache is emptied when full), and the largest properties cached.
MAX_VALID_ECOMMERCE = 4096
MAX_CACHED_PROPERTIES_BYTES = 2048


def _ecommerce_properties_pass(
    event: str, decoder: msgspec.json.Decoder[Any], properties: bytes
) -> bool:
    """True when an e-commerce event's properties check out, remembering the bytes that did.

    Shops send the same properties again and again (every view of a product carries the same
    product object), and typing them is the dearest check of an event; the same bytes for the
    same event name always give the same answer, so a set lookup replaces the second decode.
    Bounded: small properties only, and the set is emptied when it fills up.
    """
    if len(properties) > MAX_CACHED_PROPERTIES_BYTES:
        return _ecommerce_error(decoder, properties) is None
    key = (event, properties)
    if key in _VALID_ECOMMERCE:
        return True
    if _ecommerce_error(decoder, properties) is not None:
        return False
    if len(_VALID_ECOMMERCE) >= MAX_VALID_ECOMMERCE:
        _VALID_ECOMMERCE.clear()
    _VALID_ECOMMERCE[key] = None
    return True


def _event_times(
    message: WireMessage, envelope_sent_us: int | None, received_at_us: int
) -> tuple[int, int | None]:
    """The event's corrected time and its ``sentAt``, in microseconds since the epoch."""
    sent_at = message.sentAt
    sent_at_us = to_micros(sent_at) if sent_at is not None else envelope_sent_us
    timestamp = message.timestamp or message.originalTimestamp
    if timestamp is None:
        return received_at_us, sent_at_us
    timestamp_us = to_micros(timestamp)
    if sent_at_us is not None:
        # Segment's clock-skew correction: the client's clock may be wrong, but the gap
        # between the event and the send is right; anchor it on our receive time.
        timestamp_us = received_at_us - (sent_at_us - timestamp_us)
    return timestamp_us, sent_at_us


def _logged_event(
    raw: bytes | msgspec.Raw,
    message: WireMessage,
    timestamp_us: int,
    sent_at_us: int | None,
    received_at_us: int,
    envelope_context: dict[str, Any] | None,
    enrich: ContextEnrichment | None,
) -> LoggedEvent:
    """A checked message as the event log stores it (context merged and enriched)."""
    context = message.context
    if envelope_context:
        context = {**envelope_context, **context}
    if enrich is not None:
        context = enrich(context)
    message_type = message.type
    return LoggedEvent(
        message.messageId or _derived_message_id(bytes(raw)),
        message_type,
        message.event if message_type == "track" else message.name,
        message.userId,
        message.anonymousId,
        timestamp_us,
        sent_at_us,
        received_at_us,
        bytes(message.properties),
        bytes(message.traits),
        _json.encode(context),
        message.previousId,
    )


_OPEN_BRACE = ord("{")


def _message_errors(message: WireMessage) -> list[FieldError]:
    """Every id, name and object error of a message that failed a quick check."""
    errors: list[FieldError] = []
    if not message.userId and not message.anonymousId:
        errors.append(FieldError("userId", "userId or anonymousId is required", "missing_id"))
    for name in ("userId", "anonymousId", "messageId", "previousId"):
        value = getattr(message, name)
        if value is not None and len(value) > MAX_ID_LENGTH:
            errors.append(FieldError(name, f"longer than {MAX_ID_LENGTH} characters", "too_long"))
    if message.type == "track":
        if not message.event or not message.event.strip():
            errors.append(
                FieldError("event", "track messages need a non-empty event name", "missing_event")
            )
        elif len(message.event) > MAX_EVENT_NAME_LENGTH:
            errors.append(
                FieldError("event", f"longer than {MAX_EVENT_NAME_LENGTH} characters", "too_long")
            )
        else:
            decoder = _ECOMMERCE_DECODERS.get(message.event)
            ecommerce_error = decoder and _ecommerce_error(decoder, message.properties)
            if ecommerce_error is not None:
                errors.append(ecommerce_error)
    if message.type == "alias" and not message.previousId:
        errors.append(FieldError("previousId", "alias messages need previousId", "missing_id"))
    errors.extend(_object_errors(message))
    return errors


def _derived_message_id(raw: bytes) -> str:
    """A message id for a client that sent none: the same bytes retried get the same id."""
    return str(uuid.UUID(bytes=hashlib.sha256(raw).digest()[:16], version=4))


_decode_wire_message = msgspec.json.Decoder(WireMessage).decode
_decode_whole_batch = msgspec.json.Decoder(WholeBatch).decode
_decode_context_view = msgspec.json.Decoder(ContextView).decode
_decode_context = msgspec.json.Decoder(dict[str, Any]).decode
_decode_envelope = msgspec.json.Decoder(BatchEnvelope).decode
#: One decoder per e-commerce property struct; numeric strings ("19.99") are accepted.
_ECOMMERCE_DECODERS = {
    event: msgspec.json.Decoder(spec, strict=False) for event, spec in PROPERTIES_BY_EVENT.items()
}


def _ecommerce_error(
    decoder: msgspec.json.Decoder[Any], properties: bytes | msgspec.Raw
) -> FieldError | None:
    """The first error in an e-commerce event's properties (None when they check out)."""
    if memoryview(properties)[0] != _OPEN_BRACE:
        return None  # not an object: reported by _object_errors
    try:
        decoder.decode(properties)
    except msgspec.ValidationError as exc:
        return field_error_from_msgspec(exc, prefix="properties", reason="ecommerce")
    return None


def _object_errors(message: WireMessage) -> list[FieldError]:
    """``properties`` and ``traits`` must be JSON objects (an absent one is ``{}``)."""
    errors = []
    for name in ("properties", "traits"):
        text: msgspec.Raw = getattr(message, name)
        if memoryview(text)[:1].tobytes() != b"{":
            errors.append(
                FieldError(name, f"Expected `object`, got `{_json_kind(text)}`", "schema")
            )
    return errors


def _json_kind(text: msgspec.Raw) -> str:
    first = memoryview(text)[:1].tobytes()
    return {b"[": "array", b'"': "str", b"n": "null", b"t": "bool", b"f": "bool"}.get(
        first, "number"
    )
