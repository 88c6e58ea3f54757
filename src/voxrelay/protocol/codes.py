"""Result and error codes (reference §1.3).

`calling.*` results carry ``code`` as a *string* ("200", "404"...); JSON-RPC ``error`` objects
carry integer codes (-32700 parse error ... -32002 authentication failed).
"""

from __future__ import annotations

import re
from enum import IntEnum, StrEnum


class ResultCode(StrEnum):
    """String codes inside a ``calling.*`` / ``signalwire.receive`` result (reference §1.3)."""

    OK = "200"
    BAD_REQUEST = "400"
    PAYMENT_REQUIRED = "402"
    NOT_FOUND = "404"
    CONFLICT = "409"
    GONE = "410"
    TOO_MANY = "429"
    INTERNAL = "500"
    PERMISSION_DENIED = "-32001"


class ErrorCode(IntEnum):
    """Integer codes of JSON-RPC 2.0 ``error`` objects (JSON-RPC 2.0 §5.1, reference §1.3)."""

    PARSE_ERROR = -32700
    INVALID_REQUEST = -32600
    METHOD_NOT_FOUND = -32601
    INVALID_PARAMS = -32602
    INTERNAL_ERROR = -32603
    SERVER_ERROR = -32000
    PERMISSION_DENIED = -32001
    AUTH_FAILED = -32002
    REQUEST_TOO_LARGE = -32003
    RATE_LIMITED = -32004


_SUCCESS = re.compile(r"^2\d{2}$")


def is_success(result: object) -> bool:
    """True when a result dict is a success: no ``code`` at all, or a ``2xx`` string code."""
    if not isinstance(result, dict) or "code" not in result:
        return True
    return bool(_SUCCESS.match(str(result["code"])))
