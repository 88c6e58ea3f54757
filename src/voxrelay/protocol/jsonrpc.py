"""JSON-RPC 2.0 framing for RELAY: one object per WebSocket text frame (reference §1.2).

Ids are UUID strings. Both peers send requests (client: ``signalwire.connect``, ``calling.*``;
server: ``signalwire.event``, ``signalwire.ping``, ``signalwire.disconnect``) and both answer.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson

from voxrelay.protocol.codes import ErrorCode

JsonDict = dict[str, Any]


class ProtocolError(Exception):
    """A frame that is not valid JSON-RPC 2.0.

    ``code`` is the JSON-RPC error code to answer with (-32700 parse error, -32600 invalid
    request); ``id`` is the request id when one could be read, else None.
    """

    def __init__(self, code: int, message: str, id: str | int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.id = id


@dataclass(slots=True)
class Request:
    """A JSON-RPC request (or notification when ``id`` is None)."""

    method: str
    params: JsonDict = field(default_factory=dict)
    id: str | int | None = None

    def to_dict(self) -> JsonDict:
        out: JsonDict = {"jsonrpc": "2.0", "id": self.id, "method": self.method}
        out["params"] = self.params
        return out


@dataclass(slots=True)
class Response:
    """A successful JSON-RPC response."""

    id: str | int | None
    result: Any

    def to_dict(self) -> JsonDict:
        return {"jsonrpc": "2.0", "id": self.id, "result": self.result}


@dataclass(slots=True)
class ErrorResponse:
    """A JSON-RPC error response: integer ``code``, ``message`` and optional ``data``."""

    id: str | int | None
    code: int
    message: str
    data: Any = None

    def to_dict(self) -> JsonDict:
        err: JsonDict = {"code": self.code, "message": self.message}
        if self.data is not None:
            err["data"] = self.data
        return {"jsonrpc": "2.0", "id": self.id, "error": err}


Message = Request | Response | ErrorResponse


_ID_PREFIX = uuid.uuid4().hex
_id_counter = itertools.count(1)


def new_id() -> str:
    """A fresh request id in UUID form, as every RELAY peer uses.

    A random per-process prefix and a counter: unique within a process and across
    processes (the prefix has 80 random bits), six times cheaper than ``uuid4()``.
    """
    p = _ID_PREFIX
    return f"{p[:8]}-{p[8:12]}-4{p[13:16]}-{p[16:20]}-{next(_id_counter) & 0xFFFFFFFFFFFF:012x}"


def encode(message: Message) -> str:
    """Serialise a message to the text of one WebSocket frame."""
    return orjson.dumps(message.to_dict()).decode()


def _read_id(obj: JsonDict) -> str | int | None:
    rid = obj.get("id")
    if rid is None or (isinstance(rid, str | int) and not isinstance(rid, bool)):
        return rid
    raise ProtocolError(ErrorCode.INVALID_REQUEST, "'id' must be a string, a number or null")


def parse_message(data: str | bytes) -> Message:
    """Parse one frame into a Request, Response or ErrorResponse.

    Raises ProtocolError(-32700) for text that is not JSON and ProtocolError(-32600) for
    JSON that is not a single JSON-RPC 2.0 object (batches are not used by RELAY).
    """
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError(ErrorCode.PARSE_ERROR, f"Parse error: {exc}") from None
    return message_from_dict(obj)


def message_from_dict(obj: object) -> Message:
    """Classify an already-decoded JSON value as a JSON-RPC message (see parse_message)."""
    if not isinstance(obj, dict):
        raise ProtocolError(ErrorCode.INVALID_REQUEST, "Invalid Request: expected a JSON object")
    rid = _read_id(obj)
    if obj.get("jsonrpc") != "2.0":
        raise ProtocolError(
            ErrorCode.INVALID_REQUEST, "Invalid Request: 'jsonrpc' must be '2.0'", rid
        )
    if "method" in obj:
        method = obj["method"]
        if not isinstance(method, str) or not method:
            raise ProtocolError(
                ErrorCode.INVALID_REQUEST, "Invalid Request: 'method' must be a string", rid
            )
        params = obj.get("params", {})
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise ProtocolError(
                ErrorCode.INVALID_PARAMS, "Invalid params: 'params' must be an object", rid
            )
        return Request(method=method, params=params, id=rid)
    if "result" in obj:
        return Response(id=rid, result=obj["result"])
    if "error" in obj:
        err = obj["error"]
        if not isinstance(err, dict):
            raise ProtocolError(
                ErrorCode.INVALID_REQUEST, "Invalid Request: 'error' must be an object", rid
            )
        code = err.get("code")
        return ErrorResponse(
            id=rid,
            code=code if isinstance(code, int) else ErrorCode.SERVER_ERROR,
            message=str(err.get("message", "")),
            data=err.get("data"),
        )
    raise ProtocolError(
        ErrorCode.INVALID_REQUEST, "Invalid Request: no 'method', 'result' or 'error'", rid
    )
