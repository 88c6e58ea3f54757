"""SDP syntax (RFC 4566): parse and serialize session descriptions. Sans-I/O.

``SessionDescription.parse(data)`` / ``.serialize()`` keep every line (unknown attributes and
line types too) so a description round-trips; ``MediaDescription`` gives one m= section's
formats, rtpmaps (with the RFC 3551 static defaults), fmtp, ptime and direction. What to offer
and how to answer (RFC 3264) lives in ``voxrelay.sip.offeranswer``. ``SdpError`` means the
description is malformed (or, from the negotiator, that nothing acceptable was offered: a UAS
answers 488 Not Acceptable Here).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
# RFC 3551 §6: static audio payload types (name, clock rate, channels).
STATIC_AUDIO: dict[int, tuple[str, int, int]] = {
    0: ("PCMU", 8000, 1),
    3: ("GSM", 8000, 1),
    4: ("G723", 8000, 1),
    5: ("DVI4", 8000, 1),
    6: ("DVI4", 16000, 1),
    7: ("LPC", 8000, 1),
    8: ("PCMA", 8000, 1),
    9: ("G722", 8000, 1),
    10: ("L16", 44100, 2),
    11: ("L16", 44100, 1),
    12: ("QCELP", 8000, 1),
    13: ("CN", 8000, 1),
    14: ("MPA", 90000, 1),
    15: ("G728", 8000, 1),
    16: ("DVI4", 11025, 1),
    17: ("DVI4", 22050, 1),
    18: ("G729", 8000, 1),
}
MAX_LINES = 1000
# RFC 4566 §5: session-level lines in this order, then each media section (m i c b k a).
SESSION_ORDER = "vosiuepcbtrzka"
MEDIA_ORDER = "micbka"
LINE = re.compile(r"^([a-z])=(.*)$")


class SdpError(ValueError):
    """A malformed description, or an offer/answer with nothing we can use (-> 488)."""


@dataclass
class Origin:
    """``o=<username> <sess-id> <sess-version> <nettype> <addrtype> <address>``."""

    username: str = "-"
    session_id: str = "0"
    session_version: int = 0
    nettype: str = "IN"
    addrtype: str = "IP4"
    address: str = "127.0.0.1"

    @classmethod
    def parse(cls, value: str) -> Origin:
        parts = value.split()
        if len(parts) != 6 or not parts[2].isascii() or not parts[2].isdigit():
            raise SdpError(f"malformed o= line {value[:60]!r}")
        return cls(parts[0], parts[1], int(parts[2]), parts[3], parts[4], parts[5])

    def __str__(self) -> str:
        return (
            f"{self.username} {self.session_id} {self.session_version} "
            f"{self.nettype} {self.addrtype} {self.address}"
        )


@dataclass
class Connection:
    """``c=<nettype> <addrtype> <connection-address>`` (the address may carry /ttl/count)."""

    address: str
    addrtype: str = "IP4"
    nettype: str = "IN"

    @property
    def host(self) -> str:
        """The address without an IPv4 multicast TTL or a range count."""
        return self.address.split("/")[0]

    @property
    def is_hold(self) -> bool:
        """``c=IN IP4 0.0.0.0``: the RFC 2543 way of putting a stream on hold (RFC 3264 §8.4)."""
        return self.host == "0.0.0.0"

    @classmethod
    def parse(cls, value: str) -> Connection:
        parts = value.split()
        if len(parts) != 3 or not parts[2]:
            raise SdpError(f"malformed c= line {value[:60]!r}")
        return cls(parts[2], parts[1].upper(), parts[0].upper())

    @classmethod
    def for_host(cls, host: str) -> Connection:
        return cls(host, "IP6" if ":" in host else "IP4")

    def __str__(self) -> str:
        return f"{self.nettype} {self.addrtype} {self.address}"


@dataclass
class RtpMap:
    """``a=rtpmap:<pt> <name>/<clock>[/<channels>]``; a static PT without one has a default."""

    payload_type: int
    name: str
    clock_rate: int
    channels: int = 1

    def matches(self, name: str, clock_rate: int | None = None) -> bool:
        same_clock = clock_rate is None or clock_rate == self.clock_rate
        return self.name.lower() == name.lower() and same_clock

    def __str__(self) -> str:
        chans = f"/{self.channels}" if self.channels != 1 else ""
        return f"{self.payload_type} {self.name}/{self.clock_rate}{chans}"


def _attr_text(name: str, value: str | None) -> str:
    return name if value is None else f"{name}:{value}"


@dataclass
class _Section:
    """Lines shared by the session and media levels: c=, a= and any other kept lines."""

    connection: Connection | None = None
    attributes: list[tuple[str, str | None]] = field(default_factory=list)
    # Other lines (i, u, e, p, b, t, r, z, k...) as (type, value), in their original order.
    other: list[tuple[str, str]] = field(default_factory=list)

    def attribute(self, name: str) -> str | None:
        """The first value of ``a=name:value`` ("" for a flag), or None when absent."""
        for key, value in self.attributes:
            if key == name:
                return "" if value is None else value
        return None

    def attribute_all(self, name: str) -> list[str]:
        return ["" if v is None else v for k, v in self.attributes if k == name]

    def has(self, name: str) -> bool:
        return any(key == name for key, _ in self.attributes)

    def set_attribute(self, name: str, value: str | None = None) -> None:
        self.remove_attribute(name)
        self.attributes.append((name, value))

    def remove_attribute(self, name: str) -> None:
        self.attributes = [(k, v) for k, v in self.attributes if k != name]

    @property
    def direction(self) -> str | None:
        """The a=sendrecv|sendonly|recvonly|inactive at this level, if any."""
        return next((k for k, _ in self.attributes if k in DIRECTIONS), None)

    @direction.setter
    def direction(self, value: str | None) -> None:
        self.attributes = [(k, v) for k, v in self.attributes if k not in DIRECTIONS]
        if value is not None:
            self.attributes.append((value, None))

    def _add_line(self, kind: str, value: str) -> None:
        if kind == "c":
            if self.connection is not None:
                raise SdpError("more than one c= line at one level")
            self.connection = Connection.parse(value)
        elif kind == "a":
            name, colon, rest = value.partition(":")
            if not name:
                raise SdpError("empty a= line")
            self.attributes.append((name, rest if colon else None))
        else:
            self.other.append((kind, value))

    def _lines(self, order: str) -> list[str]:
        out: list[str] = []
        for kind in order:
            if kind == "c" and self.connection is not None:
                out.append(f"c={self.connection}")
            elif kind == "a":
                out.extend(f"a={_attr_text(k, v)}" for k, v in self.attributes)
            else:
                out.extend(f"{k}={v}" for k, v in self.other if k == kind)
        # Line types RFC 4566 does not know go last, in their order.
        out.extend(f"{k}={v}" for k, v in self.other if k not in order)
        return out


@dataclass
class MediaDescription(_Section):
    """One ``m=<media> <port>[/<count>] <proto> <fmt>...`` section."""

    media: str = "audio"
    port: int = 0
    port_count: int | None = None
    proto: str = "RTP/AVP"
    formats: list[str] = field(default_factory=list)

    @classmethod
    def parse_m(cls, value: str) -> MediaDescription:
        parts = value.split()
        if len(parts) < 3:
            raise SdpError(f"malformed m= line {value[:60]!r}")
        port_text, _, count_text = parts[1].partition("/")
        if not is_number(port_text) or int(port_text) > 65535:
            raise SdpError(f"bad port in m= line {value[:60]!r}")
        if count_text and not is_number(count_text):
            raise SdpError(f"bad port count in m= line {value[:60]!r}")
        count = int(count_text) if count_text else None
        return cls(
            media=parts[0], port=int(port_text), port_count=count, proto=parts[2], formats=parts[3:]
        )

    def rtpmap(self, payload_type: int) -> RtpMap | None:
        """The rtpmap of one PT: its a=rtpmap, else the RFC 3551 static default, else None."""
        prefix = f"{payload_type} "
        for value in self.attribute_all("rtpmap"):
            if value.startswith(prefix):
                return _parse_rtpmap(value)
        static = STATIC_AUDIO.get(payload_type) if self.media == "audio" else None
        return RtpMap(payload_type, *static) if static else None

    def rtpmaps(self) -> list[RtpMap]:
        """Every format with a known rtpmap, in the m= line's (preference) order.

        A malformed a=rtpmap leaves its format out (one bad codec line should not fail a call).
        """
        out = []
        for fmt in self.formats:
            if is_number(fmt) and int(fmt) <= 127:
                try:
                    found = self.rtpmap(int(fmt))
                except SdpError:
                    continue
                if found is not None:
                    out.append(found)
        return out

    def fmtp(self, payload_type: int) -> str | None:
        prefix = f"{payload_type} "
        for value in self.attribute_all("fmtp"):
            if value.startswith(prefix):
                return value[len(prefix) :].strip()
        return None

    @property
    def ptime(self) -> int | None:
        value = self.attribute("ptime")
        if value is None:
            return None
        try:
            ms = round(float(value.strip()))
        except ValueError:
            return None
        return ms if 0 < ms <= 1000 else None

    def serialize_lines(self) -> list[str]:
        count = f"/{self.port_count}" if self.port_count is not None else ""
        fmts = "".join(f" {f}" for f in self.formats)
        return [
            f"m={self.media} {self.port}{count} {self.proto}{fmts}",
            *self._lines(MEDIA_ORDER[1:]),
        ]


@dataclass
class SessionDescription(_Section):
    """A whole SDP body: session-level lines then media sections."""

    version: int = 0
    origin: Origin = field(default_factory=Origin)
    name: str = "-"
    media: list[MediaDescription] = field(default_factory=list)

    @classmethod
    def parse(cls, data: bytes | str) -> SessionDescription:
        """Parse one description; raises SdpError with the reason."""
        if isinstance(data, bytes):
            try:
                data = data.decode("utf-8")
            except UnicodeDecodeError:
                raise SdpError("SDP is not UTF-8") from None
        lines = [line.rstrip("\r") for line in data.split("\n")]
        while lines and not lines[-1].strip():
            lines.pop()
        if len(lines) > MAX_LINES:
            raise SdpError("too many SDP lines")
        if not lines or lines[0].strip() != "v=0":
            raise SdpError("SDP must start with v=0")
        sdp = cls()
        have_origin = have_name = False
        current: _Section = sdp
        for number, raw in enumerate(lines[1:], start=2):
            match = LINE.match(raw.strip())
            if match is None:
                raise SdpError(f"line {number} is not <type>=<value>: {raw[:60]!r}")
            kind, value = match.group(1), match.group(2)
            if kind == "m":
                current = MediaDescription.parse_m(value)
                sdp.media.append(current)
            elif current is sdp and kind == "o":
                sdp.origin, have_origin = Origin.parse(value), True
            elif current is sdp and kind == "s":
                sdp.name, have_name = value, True
            elif kind == "v":
                raise SdpError("v= appears twice")
            else:
                current._add_line(kind, value)
        if not have_origin:
            raise SdpError("missing o= line")
        if not have_name:
            sdp.name = "-"
        return sdp

    def serialize(self) -> bytes:
        """CRLF-terminated lines; s= and t= are always present (defaults "-" and "0 0")."""
        lines = [f"v={self.version}", f"o={self.origin}", f"s={self.name or '-'}"]
        section = self._lines(SESSION_ORDER[3:])
        if not any(kind == "t" for kind, _ in self.other):
            # t= goes after c= and b=, before the rest (RFC 4566 §5).
            at = sum(1 for line in section if line[0] in "iuepcb")
            section.insert(at, "t=0 0")
        lines.extend(section)
        for media in self.media:
            lines.extend(media.serialize_lines())
        return ("\r\n".join(lines) + "\r\n").encode()

    def __bytes__(self) -> bytes:
        return self.serialize()

    def connection_for(self, media: MediaDescription) -> Connection | None:
        """The media-level c= line, else the session-level one (RFC 4566 §5.7)."""
        return media.connection or self.connection

    def direction_of(self, media: MediaDescription) -> str:
        """The media-level direction, else the session-level one, else sendrecv (RFC 3264 §5.1)."""
        return media.direction or self.direction or "sendrecv"

    def ptime_of(self, media: MediaDescription) -> int | None:
        """a=ptime at media level, else (non-standard but seen) at session level."""
        if media.ptime is not None:
            return media.ptime
        return MediaDescription(attributes=self.attributes).ptime


def is_number(text: str) -> bool:
    """ASCII digits only, at most 10 of them (ports, payload types, counts)."""
    return text.isascii() and text.isdigit() and len(text) <= 10


def _parse_rtpmap(value: str) -> RtpMap:
    pt_text, _, encoding = value.strip().partition(" ")
    bits = encoding.strip().split("/")
    ok = is_number(pt_text) and len(bits) in (2, 3) and bits[0] and is_number(bits[1])
    if not ok or (len(bits) == 3 and not is_number(bits[2])):
        raise SdpError(f"malformed a=rtpmap {value[:60]!r}")
    channels = int(bits[2]) if len(bits) == 3 else 1
    return RtpMap(int(pt_text), bits[0], int(bits[1]), channels)
