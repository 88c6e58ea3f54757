"""Typed RELAY events (reference §2.14).

Every ``signalwire.event`` carries an ``event_type`` and a payload (the inner ``params``). The
SDK hands listeners a :class:`RelayEvent` subclass chosen by ``event_type``; its fields are
read from the payload by name. Each subclass only *declares* its fields: the reading is done
once, generically, in :meth:`RelayEvent._fields_from`, driven by the dataclass fields and an
optional ``_sources`` table for fields whose wire key differs from the field name (or that may
sit in more than one place, like a recording's ``url``).

The raw payload is always kept in ``params``, so nothing the server sends is lost.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from voxrelay.protocol.events import unwrap_event

JsonDict = dict[str, Any]
_MISSING = object()


def _lookup(payload: Mapping[str, Any], path: str) -> Any:
    """Value at a dotted ``path`` in nested dicts, or ``_MISSING``."""
    node: Any = payload
    for key in path.split("."):
        if not isinstance(node, Mapping) or key not in node:
            return _MISSING
        node = node[key]
    return node


@dataclass
class RelayEvent:
    """A server event: ``event_type``, the raw payload ``params``, its ``call_id`` and
    ``timestamp`` (seconds since the epoch, 0.0 when the server sent none)."""

    event_type: str
    params: JsonDict
    call_id: str = ""
    timestamp: float = 0.0

    _sources: ClassVar[dict[str, tuple[str, ...]]] = {}

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> RelayEvent:
        """Build the event from the *outer* params of a ``signalwire.event`` request
        (``{"event_type", "timestamp", "params": {...}}``, reference §1.7).

        Called on :class:`RelayEvent` itself it returns the typed subclass for the event
        type (like :func:`parse_event`); called on a subclass it builds that subclass.
        """
        event_type, inner, timestamp = unwrap_event(dict(payload))
        target = _CLASSES.get(event_type, RelayEvent) if cls is RelayEvent else cls
        return target._build(event_type, inner, timestamp)

    @classmethod
    def _build(cls, event_type: str, payload: Mapping[str, Any], timestamp: float) -> RelayEvent:
        return cls(
            event_type=event_type,
            params=dict(payload),
            call_id=str(payload.get("call_id") or ""),
            timestamp=timestamp,
            **cls._fields_from(payload),
        )

    @classmethod
    def _fields_from(cls, payload: Mapping[str, Any]) -> JsonDict:
        """Subclass field values read from ``payload``; absent keys keep their defaults."""
        values: JsonDict = {}
        for f in dataclasses.fields(cls):
            if f.name in _BASE_FIELDS:
                continue
            for path in cls._sources.get(f.name, (f.name,)):
                value = _lookup(payload, path)
                if value is not _MISSING and value is not None:
                    values[f.name] = value
                    break
        return values


_BASE_FIELDS = frozenset(f.name for f in dataclasses.fields(RelayEvent))


@dataclass
class CallStateEvent(RelayEvent):
    """``calling.call.state``: the call moved through created/ringing/answered/ending/ended."""

    call_state: str = ""
    end_reason: str = ""
    direction: str = ""
    device: JsonDict = field(default_factory=dict)


@dataclass
class CallReceiveEvent(RelayEvent):
    """``calling.call.receive``: an inbound call offered to one of this client's contexts."""

    call_state: str = ""
    direction: str = ""
    device: JsonDict = field(default_factory=dict)
    node_id: str = ""
    project_id: str = ""
    context: str = ""
    segment_id: str = ""
    tag: str = ""

    _sources: ClassVar[dict[str, tuple[str, ...]]] = {"context": ("context", "protocol")}


@dataclass
class PlayEvent(RelayEvent):
    """``calling.call.play``: state playing, paused, finished or error."""

    control_id: str = ""
    state: str = ""


@dataclass
class RecordEvent(RelayEvent):
    """``calling.call.record``: ``url``/``duration`` (seconds)/``size`` (bytes) are read at
    the top level first, then inside ``record`` (servers put them in either place)."""

    control_id: str = ""
    state: str = ""
    url: str = ""
    duration: float | None = None
    size: int | None = None
    record: JsonDict = field(default_factory=dict)

    _sources: ClassVar[dict[str, tuple[str, ...]]] = {
        "url": ("url", "record.url"),
        "duration": ("duration", "record.duration"),
        "size": ("size", "record.size"),
    }


@dataclass
class CollectEvent(RelayEvent):
    """``calling.call.collect``: ``result`` is ``{"type", "params"}``; ``final`` is None unless
    partial results were requested."""

    control_id: str = ""
    state: str = ""
    result: JsonDict = field(default_factory=dict)
    final: bool | None = None


@dataclass
class ConnectEvent(RelayEvent):
    """``calling.call.connect``: connecting, connected, disconnected or failed."""

    connect_state: str = ""
    peer: JsonDict = field(default_factory=dict)


@dataclass
class DetectEvent(RelayEvent):
    """``calling.call.detect``: ``detect`` is ``{"type", "params": {"event", ...}}``."""

    control_id: str = ""
    detect: JsonDict = field(default_factory=dict)


@dataclass
class FaxEvent(RelayEvent):
    """``calling.call.fax``: ``fax`` is ``{"type": page|finished|error, "params"}``."""

    control_id: str = ""
    fax: JsonDict = field(default_factory=dict)


@dataclass
class TapEvent(RelayEvent):
    """``calling.call.tap``: state tapping or finished."""

    control_id: str = ""
    state: str = ""
    tap: JsonDict = field(default_factory=dict)
    device: JsonDict = field(default_factory=dict)


@dataclass
class StreamEvent(RelayEvent):
    """``calling.call.stream``: state streaming or finished."""

    control_id: str = ""
    state: str = ""
    url: str = ""
    name: str = ""


@dataclass
class SendDigitsEvent(RelayEvent):
    """``calling.call.send_digits``: state finished once all digits were sent."""

    control_id: str = ""
    state: str = ""


@dataclass
class DialEvent(RelayEvent):
    """``calling.call.dial``: dialing, answered (``call`` describes the winning leg) or failed.
    Carries ``tag`` but no top-level ``call_id``."""

    tag: str = ""
    dial_state: str = ""
    call: JsonDict = field(default_factory=dict)


@dataclass
class ReferEvent(RelayEvent):
    """``calling.call.refer``: progress of a SIP REFER."""

    state: str = ""
    sip_refer_to: str = ""
    sip_refer_response_code: str = ""
    sip_notify_response_code: str = ""


@dataclass
class DenoiseEvent(RelayEvent):
    """``calling.call.denoise``: whether noise reduction is now on."""

    denoised: bool = False


@dataclass
class PayEvent(RelayEvent):
    """``calling.call.pay``: payment collection state."""

    control_id: str = ""
    state: str = ""


@dataclass
class QueueEvent(RelayEvent):
    """``calling.call.queue``: wire keys ``id`` and ``name`` become ``queue_id``/``queue_name``."""

    control_id: str = ""
    status: str = ""
    queue_id: str = ""
    queue_name: str = ""
    position: int = 0
    size: int = 0

    _sources: ClassVar[dict[str, tuple[str, ...]]] = {
        "queue_id": ("id", "queue_id"),
        "queue_name": ("name", "queue_name"),
    }


@dataclass
class EchoEvent(RelayEvent):
    """``calling.call.echo``: echo state."""

    state: str = ""


@dataclass
class TranscribeEvent(RelayEvent):
    """``calling.call.transcribe``: transcribing or finished; ``duration`` in seconds."""

    control_id: str = ""
    state: str = ""
    url: str = ""
    recording_id: str = ""
    duration: float | None = None
    size: int | None = None


@dataclass
class HoldEvent(RelayEvent):
    """``calling.call.hold``: hold state."""

    state: str = ""


@dataclass
class ConferenceEvent(RelayEvent):
    """``calling.conference``: a conference status change."""

    conference_id: str = ""
    name: str = ""
    status: str = ""


@dataclass
class CallingErrorEvent(RelayEvent):
    """``calling.error``: an asynchronous error reported by the server."""

    code: str = ""
    message: str = ""


_CLASSES: dict[str, type[RelayEvent]] = {
    "calling.call.state": CallStateEvent,
    "calling.call.receive": CallReceiveEvent,
    "calling.call.play": PlayEvent,
    "calling.call.record": RecordEvent,
    "calling.call.collect": CollectEvent,
    "calling.call.connect": ConnectEvent,
    "calling.call.detect": DetectEvent,
    "calling.call.fax": FaxEvent,
    "calling.call.tap": TapEvent,
    "calling.call.stream": StreamEvent,
    "calling.call.send_digits": SendDigitsEvent,
    "calling.call.dial": DialEvent,
    "calling.call.refer": ReferEvent,
    "calling.call.denoise": DenoiseEvent,
    "calling.call.pay": PayEvent,
    "calling.call.queue": QueueEvent,
    "calling.call.echo": EchoEvent,
    "calling.call.transcribe": TranscribeEvent,
    "calling.call.hold": HoldEvent,
    "calling.conference": ConferenceEvent,
    "calling.error": CallingErrorEvent,
}


def event_class(event_type: str) -> type[RelayEvent]:
    """The typed class for ``event_type`` (plain :class:`RelayEvent` when unknown)."""
    return _CLASSES.get(event_type, RelayEvent)


def parse_event(
    event_type: str, payload: Mapping[str, Any], timestamp: float | None = None
) -> RelayEvent:
    """Build the typed event for ``event_type`` from its payload (the *inner* params).

    ``timestamp`` (seconds) defaults to the payload's own ``timestamp`` key, else 0.0.
    Unknown event types give a plain :class:`RelayEvent`; nothing raises on odd payloads.
    """
    if timestamp is None:
        raw = payload.get("timestamp", 0.0)
        timestamp = float(raw) if isinstance(raw, int | float) else 0.0
    return event_class(event_type)._build(event_type, payload, timestamp)
