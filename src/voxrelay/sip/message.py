"""SIP messages (RFC 3261 §7, §20, §25): parse, build, serialize. Sans-I/O.

``parse_message(data)`` turns one datagram (or one framed TCP message) into a ``Request`` or
``Response``; anything malformed raises ``SipParseError`` with the status a UAS answers
(400 Bad Request, 505 Version Not Supported, 413 Message Too Large). Header names are
case-insensitive and compact forms (RFC 3261 §7.3.3) are expanded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

MAX_MESSAGE = 64 * 1024
COMPACT = {
    "i": "Call-ID",
    "m": "Contact",
    "e": "Content-Encoding",
    "l": "Content-Length",
    "c": "Content-Type",
    "f": "From",
    "s": "Subject",
    "k": "Supported",
    "t": "To",
    "v": "Via",
    "o": "Event",
    "u": "Allow-Events",
    "r": "Refer-To",
    "b": "Referred-By",
    "x": "Session-Expires",
}
CANONICAL = {
    name.lower(): name
    for name in (
        "Via",
        "From",
        "To",
        "Call-ID",
        "CSeq",
        "Contact",
        "Max-Forwards",
        "Content-Length",
        "Content-Type",
        "Record-Route",
        "Route",
        "Allow",
        "Supported",
        "Require",
        "User-Agent",
        "Server",
        "WWW-Authenticate",
        "Authorization",
        "Proxy-Authenticate",
        "Proxy-Authorization",
        "Expires",
        "Session-Expires",
        "Min-SE",
        "Unsupported",
        "Accept",
        "Reason",
        "Event",
        "Refer-To",
        "Referred-By",
        "Subscription-State",
        "Min-Expires",
        "Retry-After",
        "Warning",
    )
}
TOKEN = re.compile(r"^[A-Za-z0-9.!%*_+`'~-]+$")
DIGITS = re.compile(r"[0-9]{1,10}")  # ASCII only: str.isdigit() also takes "²" and "٣"
BLANK_LINE = re.compile(rb"\r?\n\r?\n")
VIA_PROTOCOL = re.compile(r"SIP\s*/\s*2\.0\s*/\s*([A-Za-z0-9.!%*_+`'~-]+)\s+(.*)", re.I | re.S)


def number(text: str) -> int | None:
    """A non-negative decimal of at most 10 ASCII digits, else None."""
    text = text.strip()
    return int(text) if DIGITS.fullmatch(text) else None


class SipParseError(ValueError):
    """A message we cannot take; ``status``/``reason`` is what to answer (if a request)."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def canonical(name: str) -> str:
    low = name.strip().lower()
    if low in COMPACT:
        return COMPACT[low]
    return CANONICAL.get(low) or "-".join(part.capitalize() for part in low.split("-"))


@dataclass
class Headers:
    """Ordered headers; several values per name; lookups are case-insensitive."""

    items: list[tuple[str, str]] = field(default_factory=list)

    def get(self, name: str, default: str | None = None) -> str | None:
        key = canonical(name)
        return next((v for k, v in self.items if k == key), default)

    def get_all(self, name: str) -> list[str]:
        """Every value of ``name``, comma-separated lists split (except auth headers)."""
        key = canonical(name)
        values = [v for k, v in self.items if k == key]
        if key in (
            "WWW-Authenticate",
            "Authorization",
            "Proxy-Authenticate",
            "Proxy-Authorization",
        ):
            return values
        return [part for v in values for part in split_commas(v)]

    def add(self, name: str, value: str) -> None:
        self.items.append((canonical(name), value))

    def set(self, name: str, value: str) -> None:
        self.remove(name)
        self.add(name, value)

    def remove(self, name: str) -> None:
        key = canonical(name)
        self.items = [(k, v) for k, v in self.items if k != key]

    def __contains__(self, name: str) -> bool:
        return self.get(name) is not None

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.items)

    def copy(self) -> Headers:
        return Headers(list(self.items))


def split_commas(value: str) -> list[str]:
    """Split a header value on commas outside quotes and angle brackets."""
    parts, depth, quoted, start = [], 0, False, 0
    for i, ch in enumerate(value):
        if ch == '"' and (i == 0 or value[i - 1] != "\\"):
            quoted = not quoted
        elif not quoted and ch == "<":
            depth += 1
        elif not quoted and ch == ">":
            depth -= 1
        elif ch == "," and not quoted and depth == 0:
            parts.append(value[start:i].strip())
            start = i + 1
    parts.append(value[start:].strip())
    return [p for p in parts if p]


@dataclass
class Message:
    headers: Headers
    body: bytes

    def header(self, name: str) -> str:
        """A header's first value; raises SipParseError if it is missing."""
        value = self.headers.get(name)
        if value is None:
            raise SipParseError(f"missing {canonical(name)} header")
        return value

    @property
    def call_id(self) -> str:
        return self.header("Call-ID")

    @property
    def cseq(self) -> tuple[int, str]:
        parts = self.header("CSeq").split()
        seq = number(parts[0]) if len(parts) == 2 else None
        if seq is None or seq >= 2**31 or not TOKEN.match(parts[1]):
            raise SipParseError("malformed CSeq")
        return seq, parts[1].upper()

    def _serialize(self, start: str) -> bytes:
        lines = [start]
        for name, value in self.headers:
            if name != "Content-Length":
                lines.append(f"{name}: {value}")
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


@dataclass
class Request(Message):
    method: str = "OPTIONS"
    uri: str = ""

    def serialize(self) -> bytes:
        return self._serialize(f"{self.method} {self.uri} SIP/2.0")


@dataclass
class Response(Message):
    status: int = 200
    reason: str = "OK"

    def serialize(self) -> bytes:
        return self._serialize(f"SIP/2.0 {self.status} {self.reason}")


REASONS = {
    100: "Trying",
    180: "Ringing",
    183: "Session Progress",
    200: "OK",
    202: "Accepted",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    413: "Request Entity Too Large",
    415: "Unsupported Media Type",
    416: "Unsupported URI Scheme",
    420: "Bad Extension",
    423: "Interval Too Brief",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    483: "Too Many Hops",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    491: "Request Pending",
    500: "Server Internal Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    505: "Version Not Supported",
    603: "Decline",
}


def parse_message(data: bytes) -> Request | Response:
    """Parse one SIP message. Raises SipParseError (see module docstring)."""
    if len(data) > MAX_MESSAGE:
        raise SipParseError("message too large", 413)
    data = data.lstrip(b"\r\n")  # CRLFs before the start line are ignored (RFC 3261 §7.5)
    blank = BLANK_LINE.search(data)
    if blank is None:
        raise SipParseError("no blank line after the headers")
    head, body = data[: blank.start()], data[blank.end() :]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        raise SipParseError("headers are not UTF-8") from None
    lines = _unfold(text.replace("\r\n", "\n").split("\n"))
    if not lines or not lines[0]:
        raise SipParseError("empty message")
    headers = Headers()
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not name.strip() or not TOKEN.match(name.strip()):
            raise SipParseError(f"malformed header line {line[:40]!r}")
        headers.add(name, value.strip())
    body = _body(headers, body)
    start = lines[0]
    if start[:4].upper() == "SIP/":
        return _response(start, headers, body)
    return _request(start, headers, body)


def _unfold(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if line[:1] in (" ", "\t") and out:
            out[-1] += " " + line.strip()
        else:
            out.append(line)
    return out


def _body(headers: Headers, body: bytes) -> bytes:
    length = headers.get("Content-Length")
    if length is None:
        return body
    n = number(length)
    if n is None:
        raise SipParseError("malformed Content-Length")
    if n > len(body):
        raise SipParseError("body shorter than Content-Length")
    return body[:n]


def _request(start: str, headers: Headers, body: bytes) -> Request:
    parts = start.split(" ")
    if len(parts) != 3 or not TOKEN.match(parts[0]) or not parts[1]:
        raise SipParseError("malformed request line")
    method, uri, version = parts
    if version.upper() != "SIP/2.0":
        raise SipParseError("only SIP/2.0 is supported", 505)
    return Request(headers, body, method.upper(), uri)


def _response(start: str, headers: Headers, body: bytes) -> Response:
    version, _, rest = start.partition(" ")
    code, _, reason = rest.partition(" ")
    if version.upper() != "SIP/2.0":
        raise SipParseError("only SIP/2.0 is supported", 505)
    status = number(code) if len(code) == 3 else None
    if status is None or not 100 <= status <= 699:
        raise SipParseError("malformed status code")
    return Response(headers, body, status, reason.strip())


def check_request(req: Request) -> None:
    """The headers every request needs (RFC 3261 §8.1.1). Raises SipParseError."""
    for name in ("Via", "From", "To", "Call-ID", "CSeq"):
        req.header(name)
    _, method = req.cseq
    if (
        method != req.method
        and not (req.method == "ACK" and method == "ACK")
        and not (req.method == "CANCEL" and method == "CANCEL")
    ):
        raise SipParseError("CSeq method does not match the request method")
    hops = (req.headers.get("Max-Forwards") or "0").strip().lstrip("0") or "0"
    if not (hops.isascii() and hops.isdigit() and len(hops) <= 3 and int(hops) <= 255):
        raise SipParseError("malformed Max-Forwards")  # 1*DIGIT, 0-255 (RFC 3261 §20.22)


# -- header values -----------------------------------------------------------------------


def params_of(text: str) -> dict[str, str]:
    """``;a=1;b`` -> {"a": "1", "b": ""} (names lower-cased)."""
    out: dict[str, str] = {}
    for part in text.split(";"):
        name, _, value = part.strip().partition("=")
        if name:
            out[name.strip().lower()] = value.strip().strip('"')
    return out


@dataclass
class Via:
    """One Via header value (RFC 3261 §20.42, §18.2.1 received/rport)."""

    transport: str
    host: str
    port: int | None
    params: dict[str, str]

    @property
    def branch(self) -> str:
        return self.params.get("branch", "")

    @classmethod
    def parse(cls, value: str) -> Via:
        # LWS may surround the slashes (RFC 3261 §25.1, RFC 4475 §3.1.1.1).
        match = VIA_PROTOCOL.fullmatch(value.strip())
        if match is None:
            raise SipParseError("malformed Via")
        sent_by, _, params = match.group(2).strip().partition(";")
        host, port = split_hostport(sent_by.strip())
        return cls(match.group(1).upper(), host, port, params_of(params))

    def __str__(self) -> str:
        port = f":{self.port}" if self.port else ""
        params = "".join(f";{k}={v}" if v else f";{k}" for k, v in self.params.items())
        return f"SIP/2.0/{self.transport} {join_hostport(self.host, None)}{port}{params}"


def split_hostport(text: str) -> tuple[str, int | None]:
    """``host``, ``host:port`` or ``[v6]:port``. Raises SipParseError on a bad port."""
    if text.startswith("["):
        host, close, rest = text[1:].partition("]")
        if not close or (rest and not rest.startswith(":")):
            raise SipParseError("malformed IPv6 reference")
        port = rest.removeprefix(":")
    else:
        host, _, port = text.partition(":")
    if not host:
        raise SipParseError("missing host")
    if port:
        value = number(port)
        if value is None or not 0 < value < 65536:
            raise SipParseError("bad port")
        return host, value
    return host, None


def join_hostport(host: str, port: int | None) -> str:
    """The inverse of split_hostport: IPv6 addresses go in brackets."""
    text = f"[{host}]" if ":" in host else host
    return f"{text}:{port}" if port else text


@dataclass
class SipUri:
    """``sip:user@host:port;params`` (RFC 3261 §19.1)."""

    scheme: str
    user: str
    host: str
    port: int | None
    params: dict[str, str]

    @classmethod
    def parse(cls, text: str) -> SipUri:
        scheme, colon, rest = text.strip().partition(":")
        if not colon or scheme.lower() not in ("sip", "sips", "tel"):
            raise SipParseError(f"unsupported URI {text[:40]!r}", 416)
        rest, _, _headers = rest.partition("?")
        rest, _, params = rest.partition(";")
        user, at, hostport = rest.rpartition("@")
        if scheme.lower() == "tel":
            return cls("tel", rest, "", None, params_of(params))
        host, port = split_hostport(hostport if at else rest)
        return cls(scheme.lower(), user if at else "", host, port, params_of(params))

    def __str__(self) -> str:
        user = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port else ""
        params = "".join(f";{k}={v}" if v else f";{k}" for k, v in self.params.items())
        return f"{self.scheme}:{user}{join_hostport(self.host, None)}{port}{params}"


@dataclass
class NameAddr:
    """``"Display" <sip:...>;tag=x`` as in From, To, Contact (RFC 3261 §20.10)."""

    display: str
    uri: str
    params: dict[str, str]

    @property
    def tag(self) -> str:
        return self.params.get("tag", "")

    @classmethod
    def parse(cls, value: str) -> NameAddr:
        value = value.strip()
        if "<" in value:
            display, _, rest = value.partition("<")
            uri, close, params = rest.partition(">")
            if not close:
                raise SipParseError("unclosed < in address")
            return cls(display.strip().strip('"'), uri.strip(), params_of(params))
        uri, _, params = value.partition(";")
        return cls("", uri.strip(), params_of(params))

    def __str__(self) -> str:
        display = f'"{self.display}" ' if self.display else ""
        params = "".join(f";{k}={v}" if v else f";{k}" for k, v in self.params.items())
        return f"{display}<{self.uri}>{params}"


def response_to(
    req: Request,
    status: int,
    reason: str | None = None,
    to_tag: str | None = None,
    body: bytes = b"",
    extra: list[tuple[str, str]] | None = None,
) -> Response:
    """A response to ``req`` copying Via, From, To (+ tag), Call-ID, CSeq (RFC 3261 §8.2.6)."""
    headers = Headers()
    for name in ("Via", "Record-Route", "From", "To", "Call-ID", "CSeq"):
        if name == "Record-Route" and not 100 < status < 300:
            continue
        for value in [v for k, v in req.headers if k == name]:
            if name == "To" and to_tag and "tag=" not in value:
                value = f"{value};tag={to_tag}"
            headers.add(name, value)
    for name, value in extra or []:
        headers.add(name, value)
    return Response(headers, body, status, reason or REASONS.get(status, "Unknown"))
