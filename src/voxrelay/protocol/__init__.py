"""Sans-I/O RELAY protocol: JSON-RPC 2.0 framing, message models, codes and vocabularies.

Nothing here touches a socket, an event loop or a clock: feed it text or dicts, get typed
objects back, and the reverse. Both the SDK (`voxrelay.relay`) and the server use it, so the
two can never disagree about the wire (reference §1).
"""

from voxrelay.protocol.codes import ErrorCode, ResultCode, is_success
from voxrelay.protocol.jsonrpc import (
    ErrorResponse,
    Message,
    ProtocolError,
    Request,
    Response,
    encode,
    new_id,
    parse_message,
)
from voxrelay.protocol.states import CallState, DialState, Direction, EndReason

__all__ = [
    "CallState",
    "DialState",
    "Direction",
    "EndReason",
    "ErrorCode",
    "ErrorResponse",
    "Message",
    "ProtocolError",
    "Request",
    "Response",
    "ResultCode",
    "encode",
    "is_success",
    "new_id",
    "parse_message",
]
