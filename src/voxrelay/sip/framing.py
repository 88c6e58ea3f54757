"""Framing SIP messages on a byte stream (TCP, TLS; RFC 3261 §18.3). Sans-I/O.

On a stream a message ends where its Content-Length says. ``StreamFramer.feed(data)`` takes
whatever arrived and returns the complete messages (bytes, for ``parse_message``). CRLFs
between messages are skipped (RFC 3261 §7.5); a double CRLF there is an RFC 5626 §3.5.1
keep-alive ping, counted in ``pings`` (answer each with one CRLF, the pong). A message or
buffer above ``max_size`` raises SipParseError(413); a bad Content-Length raises
SipParseError(400). After an error the stream cannot be resynchronised: close it.
"""

from __future__ import annotations

import re

from voxrelay.sip.message import MAX_MESSAGE, SipParseError

BLANK_LINE = re.compile(rb"\r?\n\r?\n")
CONTENT_LENGTH = re.compile(rb"^(?:content-length|l)[ \t]*:[ \t]*(.*?)[ \t\r]*$", re.I | re.M)


class StreamFramer:
    """Cut a SIP byte stream into messages by Content-Length (missing: no body)."""

    def __init__(self, max_size: int = MAX_MESSAGE) -> None:
        self.max_size = max_size
        self.pings = 0
        self._buffer = bytearray()
        self._failed: SipParseError | None = None

    @property
    def buffered(self) -> int:
        """Bytes received and not yet returned as a message."""
        return len(self._buffer)

    def take_pings(self) -> int:
        """Keep-alive pings seen since the last call (each wants a CRLF pong)."""
        pings, self.pings = self.pings, 0
        return pings

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return every message now complete, in order."""
        if self._failed is not None:
            raise self._failed
        self._buffer += data
        messages: list[bytes] = []
        try:
            while (message := self._next()) is not None:
                messages.append(message)
        except SipParseError as exc:
            self._failed = exc
            self._buffer.clear()
            raise
        return messages

    def _skip_crlf(self) -> None:
        start, buf = 0, self._buffer
        while start < len(buf) and buf[start] in b"\r\n":
            rest = bytes(buf[start : start + 4])
            if rest == b"\r\n\r\n":
                self.pings += 1
                start += 4
            elif b"\r\n\r\n".startswith(rest):
                break  # perhaps a ping cut in two: wait for the rest
            elif rest.startswith(b"\r\n"):
                start += 2
            else:
                start += 1
        del buf[:start]

    def _next(self) -> bytes | None:
        self._skip_crlf()
        if not self._buffer:
            return None
        end = BLANK_LINE.search(self._buffer)
        if end is None:
            if len(self._buffer) > self.max_size:
                raise SipParseError("message headers too large", 413)
            return None
        head = bytes(self._buffer[: end.start()])
        body_length = _content_length(head)
        total = end.end() + body_length
        if total > self.max_size:
            raise SipParseError("message too large", 413)
        if len(self._buffer) < total:
            return None
        message = bytes(self._buffer[:total])
        del self._buffer[:total]
        return message


def _content_length(head: bytes) -> int:
    values = {m.group(1) for m in CONTENT_LENGTH.finditer(head)}
    if not values:
        return 0
    if len(values) > 1:
        raise SipParseError("conflicting Content-Length headers")
    text = values.pop()
    if not text.isdigit() or len(text) > 10:
        raise SipParseError("malformed Content-Length")
    return int(text)
