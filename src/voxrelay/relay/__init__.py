"""The RELAY Python SDK: ``from voxrelay.relay import RelayClient``.

Mirrors ``signalwire.relay`` (reference §4): code written from the SignalWire RELAY Python
docs runs against a voxrelay server with only its import line changed.
"""

from voxrelay.relay.action import Action, PausableAction, StoppableAction, VolumeAction
from voxrelay.relay.actions import (
    CollectAction,
    DetectAction,
    PlayAction,
    RecordAction,
    StandaloneCollectAction,
)
from voxrelay.relay.call import Call
from voxrelay.relay.client import RelayClient
from voxrelay.relay.connection import Timings
from voxrelay.relay.errors import RelayError, RequestTimeoutError
from voxrelay.relay.event import (
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

__all__ = [
    "Action",
    "Call",
    "CallReceiveEvent",
    "CallStateEvent",
    "CallingErrorEvent",
    "CollectAction",
    "CollectEvent",
    "ConferenceEvent",
    "ConnectEvent",
    "DenoiseEvent",
    "DetectAction",
    "DetectEvent",
    "DialEvent",
    "EchoEvent",
    "FaxEvent",
    "HoldEvent",
    "PausableAction",
    "PayEvent",
    "PlayAction",
    "PlayEvent",
    "QueueEvent",
    "RecordAction",
    "RecordEvent",
    "ReferEvent",
    "RelayClient",
    "RelayError",
    "RelayEvent",
    "RequestTimeoutError",
    "SendDigitsEvent",
    "StandaloneCollectAction",
    "StoppableAction",
    "StreamEvent",
    "TapEvent",
    "Timings",
    "TranscribeEvent",
    "VolumeAction",
    "parse_event",
]
