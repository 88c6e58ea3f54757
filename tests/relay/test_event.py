"""Typed events (reference §2.14): every event type maps to its class and fields."""

from __future__ import annotations

from typing import Any

import pytest

from voxrelay.relay import (
    CallingErrorEvent,
    CallReceiveEvent,
    CallStateEvent,
    CollectEvent,
    ConferenceEvent,
    ConnectEvent,
    DenoiseEvent,
    DetectEvent,
    DialEvent,
    EchoEvent,
    FaxEvent,
    HoldEvent,
    PayEvent,
    PlayEvent,
    QueueEvent,
    RecordEvent,
    ReferEvent,
    RelayEvent,
    SendDigitsEvent,
    StreamEvent,
    TapEvent,
    TranscribeEvent,
    parse_event,
)

CASES: list[tuple[str, type[RelayEvent], dict[str, Any], dict[str, Any]]] = [
    (
        "calling.call.state",
        CallStateEvent,
        {
            "call_state": "ended",
            "end_reason": "hangup",
            "direction": "inbound",
            "device": {"type": "phone"},
        },
        {},
    ),
    (
        "calling.call.receive",
        CallReceiveEvent,
        {
            "call_state": "created",
            "direction": "inbound",
            "device": {"type": "phone"},
            "node_id": "n1",
            "project_id": "p1",
            "context": "office",
            "segment_id": "s1",
            "tag": "t",
        },
        {},
    ),
    ("calling.call.play", PlayEvent, {"control_id": "c", "state": "playing"}, {}),
    (
        "calling.call.record",
        RecordEvent,
        {
            "control_id": "c",
            "state": "finished",
            "url": "https://x/r.mp3",
            "duration": 4,
            "size": 4096,
            "record": {"audio": {"format": "mp3"}},
        },
        {},
    ),
    (
        "calling.call.collect",
        CollectEvent,
        {
            "control_id": "c",
            "state": "finished",
            "final": True,
            "result": {"type": "digit", "params": {"digits": "12"}},
        },
        {},
    ),
    (
        "calling.call.connect",
        ConnectEvent,
        {"connect_state": "connected", "peer": {"call_id": "p"}},
        {},
    ),
    (
        "calling.call.detect",
        DetectEvent,
        {"control_id": "c", "detect": {"type": "machine", "params": {"event": "HUMAN"}}},
        {},
    ),
    ("calling.call.fax", FaxEvent, {"control_id": "c", "fax": {"type": "finished"}}, {}),
    (
        "calling.call.tap",
        TapEvent,
        {
            "control_id": "c",
            "state": "tapping",
            "tap": {"type": "audio"},
            "device": {"type": "rtp"},
        },
        {},
    ),
    (
        "calling.call.stream",
        StreamEvent,
        {"control_id": "c", "state": "streaming", "url": "wss://x", "name": "s"},
        {},
    ),
    ("calling.call.send_digits", SendDigitsEvent, {"control_id": "c", "state": "finished"}, {}),
    (
        "calling.call.dial",
        DialEvent,
        {"tag": "t", "dial_state": "answered", "call": {"call_id": "leg"}},
        {},
    ),
    (
        "calling.call.refer",
        ReferEvent,
        {
            "state": "success",
            "sip_refer_to": "sip:a@b",
            "sip_refer_response_code": "202",
            "sip_notify_response_code": "200",
        },
        {},
    ),
    ("calling.call.denoise", DenoiseEvent, {"denoised": True}, {}),
    ("calling.call.pay", PayEvent, {"control_id": "c", "state": "finished"}, {}),
    (
        "calling.call.queue",
        QueueEvent,
        {
            "control_id": "c",
            "status": "enqueue",
            "id": "q1",
            "name": "sales",
            "position": 2,
            "size": 5,
        },
        {"queue_id": "q1", "queue_name": "sales"},
    ),
    ("calling.call.echo", EchoEvent, {"state": "started"}, {}),
    (
        "calling.call.transcribe",
        TranscribeEvent,
        {
            "control_id": "c",
            "state": "finished",
            "url": "u",
            "recording_id": "r",
            "duration": 3.5,
            "size": 10,
        },
        {},
    ),
    ("calling.call.hold", HoldEvent, {"state": "hold"}, {}),
    (
        "calling.conference",
        ConferenceEvent,
        {"conference_id": "cf", "name": "room", "status": "join"},
        {},
    ),
    ("calling.error", CallingErrorEvent, {"code": "500", "message": "boom"}, {}),
]


@pytest.mark.parametrize(("event_type", "cls", "payload", "renamed"), CASES)
def test_every_event_type_has_its_class_and_fields(
    event_type: str, cls: type[RelayEvent], payload: dict[str, Any], renamed: dict[str, Any]
) -> None:
    event = parse_event(event_type, {"call_id": "c1", **payload})
    assert type(event) is cls
    assert event.event_type == event_type
    assert event.call_id == "c1"
    assert event.params == {"call_id": "c1", **payload}
    wire_names = {"id", "name"} if renamed else set()
    for key, value in payload.items():
        if key not in wire_names:
            assert getattr(event, key) == value, key
    for attr, value in renamed.items():
        assert getattr(event, attr) == value


def test_missing_fields_take_defaults_and_unknown_type_is_plain() -> None:
    play = parse_event("calling.call.play", {})
    assert isinstance(play, PlayEvent)
    assert (play.control_id, play.state, play.call_id, play.timestamp) == ("", "", "", 0.0)
    other = parse_event("calling.call.something_new", {"call_id": "c", "x": 1})
    assert type(other) is RelayEvent
    assert other.params == {"call_id": "c", "x": 1}


def test_record_url_falls_back_to_nested_record() -> None:
    event = parse_event("calling.call.record", {"record": {"url": "u", "duration": 2, "size": 8}})
    assert isinstance(event, RecordEvent)
    assert (event.url, event.duration, event.size) == ("u", 2, 8)


def test_receive_context_falls_back_to_protocol() -> None:
    event = parse_event("calling.call.receive", {"protocol": "signalwire_x"})
    assert isinstance(event, CallReceiveEvent)
    assert event.context == "signalwire_x"


def test_timestamp_from_argument_or_payload() -> None:
    assert parse_event("calling.call.play", {"timestamp": 12.5}).timestamp == 12.5
    assert parse_event("calling.call.play", {"timestamp": 12.5}, 99.0).timestamp == 99.0
    assert parse_event("calling.call.play", {"timestamp": "bad"}).timestamp == 0.0


def test_from_payload_reads_the_event_envelope() -> None:
    outer = {
        "event_type": "calling.call.play",
        "timestamp": 1700000000.5,
        "params": {"call_id": "c1", "control_id": "ctl", "state": "finished"},
    }
    event = RelayEvent.from_payload(outer)
    assert isinstance(event, PlayEvent)
    assert (event.call_id, event.control_id, event.state) == ("c1", "ctl", "finished")
    assert event.timestamp == 1700000000.5
    assert isinstance(PlayEvent.from_payload(outer), PlayEvent)
