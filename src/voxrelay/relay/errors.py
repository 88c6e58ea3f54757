"""The one error type the RELAY SDK raises for protocol-level failures (reference §1.3)."""

from __future__ import annotations


class RelayError(Exception):
    """A failed RELAY request.

    ``code`` is the integer form of the server's code: the ``code`` string of a ``calling.*``
    result (``"400"`` -> 400), the integer code of a JSON-RPC ``error`` object (-32002 for a
    rejected ``signalwire.connect``), or -1 for failures detected by the client itself
    (request timeout, connection closed, dial failed or timed out).
    """

    def __init__(self, code: int, message: str) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"RELAY error {self.code}: {self.message}"


class RequestTimeoutError(RelayError):
    """A request got no response within its timeout (code -1). The server may still have
    acted on it; the connection stays up (reference §1.6)."""

    def __init__(self, message: str) -> None:
        super().__init__(-1, message)
