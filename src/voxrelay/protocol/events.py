"""The ``signalwire.event`` envelope (reference §1.7) and the call event names (the events
of components, ``calling.call.play``..., are in ``voxrelay.protocol.components``).

The payload lives in ``params.params``; ``event_type`` and ``timestamp`` live in the outer
params. A copy of ``timestamp`` also goes into the payload, since the Python SDK reads it there.
"""

from __future__ import annotations

from typing import Any

from voxrelay.protocol.jsonrpc import Request, new_id

JsonDict = dict[str, Any]

EVENT_METHOD = "signalwire.event"
AUTHORIZATION_STATE = "signalwire.authorization.state"
CALL_RECEIVE = "calling.call.receive"
CALL_STATE = "calling.call.state"
CALL_DIAL = "calling.call.dial"


def build_event(
    event_type: str,
    payload: JsonDict,
    *,
    timestamp: float,
    channel: str | None = None,
    project_id: str | None = None,
    node_id: str | None = None,
    event_id: str | None = None,
) -> Request:
    """Wrap ``payload`` as a ``signalwire.event`` request with a fresh id.

    ``timestamp`` is wall-clock seconds since the epoch (float).
    """
    outer: JsonDict = {"event_type": event_type, "timestamp": timestamp}
    if channel is not None:
        outer["event_channel"] = channel
    if project_id is not None:
        outer["project_id"] = project_id
        outer["space_id"] = project_id
    if node_id is not None:
        outer["node_id"] = node_id
    outer["params"] = {**payload, "timestamp": timestamp} if "timestamp" not in payload else payload
    return Request(method=EVENT_METHOD, params=outer, id=event_id or new_id())


def unwrap_event(params: JsonDict) -> tuple[str, JsonDict, float]:
    """Return ``(event_type, payload, timestamp)`` from the outer params of an event."""
    event_type = str(params.get("event_type", ""))
    payload = params.get("params")
    if not isinstance(payload, dict):
        payload = {}
    ts = params.get("timestamp", payload.get("timestamp", 0.0))
    try:
        timestamp = float(ts)
    except (TypeError, ValueError):
        timestamp = 0.0
    return event_type, payload, timestamp
