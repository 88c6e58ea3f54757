"""The Blade dialect of RELAY, spoken by PyPI ``signalwire`` 2.x (reference §1.7, §1.9).

Sans-I/O translation between Blade frames and the RELAY methods and events both dialects
share. A Blade client:

1. ``blade.connect`` ``{version, authentication, agent}`` -> :func:`connect_result`;
2. ``blade.execute`` ``{protocol: "signalwire", method: "setup"}`` -> a protocol string;
3. ``blade.subscription`` ``{command: "add", protocol, channels: ["notifications"]}``;
4. ``blade.execute`` ``{protocol, method, params}`` for ``signalwire.receive`` and every
   ``calling.*`` method: :func:`unwrap_execute` gives ``(method, params)``, and
   :func:`execute_result` wraps the RELAY result as
   ``{requester_nodeid, responder_nodeid, result: {code, message, ...}}``;
5. events arrive as ``blade.broadcast`` (:func:`broadcast`), event ``queuing.relay.events``,
   channel ``notifications``; they are not acknowledged;
6. ``blade.ping`` both ways, ``blade.disconnect`` from the server.

The same module serves the SDK side (:func:`execute_request`, :func:`unwrap_broadcast`,
:func:`unwrap_execute_result`), so client and server cannot disagree about the wire.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from voxrelay.protocol.jsonrpc import Request, new_id

JsonDict = dict[str, Any]

CONNECT = "blade.connect"
EXECUTE = "blade.execute"
SUBSCRIPTION = "blade.subscription"
BROADCAST = "blade.broadcast"
PING = "blade.ping"
DISCONNECT = "blade.disconnect"

VERSION: JsonDict = {"major": 2, "minor": 3, "revision": 0}
SETUP_PROTOCOL = "signalwire"
SETUP_METHOD = "setup"
CHANNEL = "notifications"
CALLING_EVENTS = "queuing.relay.events"
MESSAGING_EVENTS = "queuing.relay.messaging"
TASK_EVENTS = "queuing.relay.tasks"
MASTER_NODEID = "00000000-0000-0000-0000-000000000000"


class BladeError(ValueError):
    """A Blade frame whose params do not have the required shape."""


def is_blade(method: str) -> bool:
    """True for the methods of the Blade layer (``blade.*``)."""
    return method.startswith("blade.")


# -- server side -------------------------------------------------------------------------


def connect_result(
    *, sessionid: str, nodeid: str, project: str, signature: str, scopes: list[str]
) -> JsonDict:
    """The result of ``blade.connect`` (reference §1.9 step 1)."""
    return {
        "session_restored": False,
        "sessionid": sessionid,
        "nodeid": nodeid,
        "master_nodeid": MASTER_NODEID,
        "authorization": {
            "project": project,
            "expires_at": None,
            "scopes": scopes,
            "signature": signature,
        },
        "routes": [],
        "protocols": [],
        "subscriptions": [],
        "authorities": [],
        "authorizations": [],
        "accesses": [],
        "protocols_uncertified": ["signalwire"],
    }


@dataclass(frozen=True, slots=True)
class Execute:
    """An unwrapped ``blade.execute``: the RELAY ``method`` and its ``params``."""

    protocol: str
    method: str
    params: JsonDict

    @property
    def is_setup(self) -> bool:
        return self.protocol == SETUP_PROTOCOL and self.method == SETUP_METHOD


def unwrap_execute(params: JsonDict) -> Execute:
    """Read ``{protocol, method, params}`` from ``blade.execute`` params."""
    protocol = params.get("protocol")
    method = params.get("method")
    inner = params.get("params", {})
    if not isinstance(protocol, str) or not protocol:
        raise BladeError("blade.execute needs a 'protocol' string")
    if not isinstance(method, str) or not method:
        raise BladeError("blade.execute needs a 'method' string")
    if inner is None:
        inner = {}
    if not isinstance(inner, dict):
        raise BladeError("blade.execute 'params' must be an object")
    return Execute(protocol, method, inner)


def execute_result(result: Any, *, requester_nodeid: str, responder_nodeid: str) -> JsonDict:
    """Wrap a RELAY result as the result of a ``blade.execute``."""
    return {
        "requester_nodeid": requester_nodeid,
        "responder_nodeid": responder_nodeid,
        "result": result,
    }


def subscription_result(params: JsonDict) -> JsonDict:
    """The result of ``blade.subscription``: every asked channel is granted."""
    channels = params.get("channels")
    if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
        raise BladeError("blade.subscription needs a 'channels' list of strings")
    command = params.get("command", "add")
    if command not in ("add", "remove"):
        raise BladeError("blade.subscription 'command' must be 'add' or 'remove'")
    key = "subscribe_channels" if command == "add" else "unsubscribe_channels"
    return {
        "command": command,
        "failed_channels": [],
        "protocol": params.get("protocol"),
        key: list(channels),
    }


def event_kind(event_type: str) -> str:
    """The Blade broadcast ``event`` carrying ``event_type``."""
    if event_type.startswith("messaging."):
        return MESSAGING_EVENTS
    return CALLING_EVENTS


def broadcast(
    event_type: str,
    payload: JsonDict,
    *,
    timestamp: float,
    protocol: str,
    node_id: str,
    project_id: str,
    event_id: str | None = None,
) -> Request:
    """A ``blade.broadcast`` carrying one RELAY event (reference §1.7)."""
    inner: JsonDict = {
        "event_type": event_type,
        "event_channel": protocol,
        "timestamp": timestamp,
        "project_id": project_id,
        "space_id": project_id,
        "node_id": node_id,
        "params": {**payload, "timestamp": timestamp} if "timestamp" not in payload else payload,
    }
    params: JsonDict = {
        "broadcaster_nodeid": node_id,
        "protocol": protocol,
        "channel": CHANNEL,
        "event": event_kind(event_type),
        "params": inner,
    }
    return Request(BROADCAST, params, event_id or new_id())


def ping(timestamp: float) -> Request:
    return Request(PING, {"timestamp": timestamp}, new_id())


def disconnect() -> Request:
    return Request(DISCONNECT, {}, new_id())


# -- client side -------------------------------------------------------------------------


def connect_params(project: str, token: str, agent: str) -> JsonDict:
    return {
        "version": dict(VERSION),
        "authentication": {"project": project, "token": token},
        "agent": agent,
    }


def execute_params(protocol: str, method: str, params: JsonDict) -> JsonDict:
    """``blade.execute`` params for RELAY ``method``."""
    return {"protocol": protocol, "method": method, "params": params}


def setup_params() -> JsonDict:
    return execute_params(SETUP_PROTOCOL, SETUP_METHOD, {})


def unwrap_execute_result(result: Any) -> Any:
    """The RELAY result inside a ``blade.execute`` result (``result.result``)."""
    if isinstance(result, dict) and "result" in result:
        return result["result"]
    return result


def unwrap_broadcast(params: JsonDict) -> tuple[str, str, JsonDict, float] | None:
    """``(protocol, event_type, payload, timestamp)`` of a RELAY event broadcast, else None."""
    inner = params.get("params")
    if not isinstance(inner, dict):
        return None
    event_type = inner.get("event_type")
    payload = inner.get("params")
    if not isinstance(event_type, str) or not isinstance(payload, dict):
        return None
    ts: Any = inner.get("timestamp", payload.get("timestamp", 0.0))
    try:
        timestamp = float(ts)
    except (TypeError, ValueError):
        timestamp = 0.0
    return str(params.get("protocol", "")), event_type, payload, timestamp
