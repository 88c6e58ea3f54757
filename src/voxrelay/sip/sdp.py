"""SDP (RFC 4566) and the offer/answer model (RFC 3264) for one audio stream. Sans-I/O.

``SessionDescription.parse(data)`` / ``.serialize()`` keep every line (unknown attributes and
line types too) so a description round-trips. ``offer()`` builds our offer; ``answer()`` answers
a remote offer (RFC 3264 §6) and ``read_answer()`` reads the answer to ours (§7); both return a
``Negotiated`` with what the media leg needs. ``SdpError`` means nothing acceptable was offered
or the description is malformed: a UAS answers 488 Not Acceptable Here.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Sequence
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
RTP_PROFILES = ("RTP/AVP", "RTP/AVPF")  # what we can answer (no SRTP, no DTLS)
TELEPHONE_EVENT = "telephone-event"
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
        if not _is_number(port_text) or int(port_text) > 65535:
            raise SdpError(f"bad port in m= line {value[:60]!r}")
        if count_text and not _is_number(count_text):
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
            if _is_number(fmt) and int(fmt) <= 127:
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


def _is_number(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 10


def _parse_rtpmap(value: str) -> RtpMap:
    pt_text, _, encoding = value.strip().partition(" ")
    bits = encoding.strip().split("/")
    ok = _is_number(pt_text) and len(bits) in (2, 3) and bits[0] and _is_number(bits[1])
    if not ok or (len(bits) == 3 and not _is_number(bits[2])):
        raise SdpError(f"malformed a=rtpmap {value[:60]!r}")
    channels = int(bits[2]) if len(bits) == 3 else 1
    return RtpMap(int(pt_text), bits[0], int(bits[1]), channels)


# -- offer / answer ----------------------------------------------------------------------------


# Our names for the codecs we offer, and their static payload types (RFC 3551).
OUR_STATIC = {"PCMU": 0, "PCMA": 8}
REVERSE = {
    "sendrecv": "sendrecv",
    "sendonly": "recvonly",
    "recvonly": "sendonly",
    "inactive": "inactive",
}


@dataclass
class Negotiated:
    """What the media leg needs once offer and answer are known.

    ``direction`` is from our point of view: ``sendonly`` means we send and do not receive.
    ``answer_sdp`` is the answer: the one we built (``answer()``) or the remote one
    (``read_answer()``). ``on_hold`` is True when the remote side holds the stream
    (its SDP says sendonly/inactive, or c=0.0.0.0; RFC 3264 §8.4): send no RTP to it then.
    ``ptime`` is the packet time the remote side asked for (20 when it did not say).
    """

    codec: str
    payload_type: int
    clock_rate: int
    telephone_event: int | None
    remote_host: str
    remote_port: int
    direction: str
    ptime: int
    answer_sdp: bytes
    on_hold: bool = False
    rtcp_mux: bool = False
    remote_rtcp_port: int = 0

    @property
    def sends(self) -> bool:
        return self.direction in ("sendrecv", "sendonly") and not self.on_hold

    @property
    def receives(self) -> bool:
        return self.direction in ("sendrecv", "recvonly")


def offer(
    host: str,
    port: int,
    codecs: Sequence[str] = ("PCMU", "PCMA"),
    telephone_event: int | None = 101,
    direction: str = "sendrecv",
    session_id: int | None = None,
    session_version: int = 0,
    ptime: int = 20,
    rtcp_mux: bool = False,
) -> SessionDescription:
    """Our offer: one audio stream (RFC 3264 §5). ``.serialize()`` it for the body.

    Codecs are offered in the given order with their static PTs (PCMU 0, PCMA 8), then
    telephone-event/8000 with ``fmtp 0-16`` on the dynamic PT ``telephone_event`` (None: no
    RFC 4733 events). For a re-offer keep ``session_id`` and bump ``session_version``.
    """
    if direction not in DIRECTIONS:
        raise SdpError(f"unknown direction {direction!r}")
    if not codecs:
        raise SdpError("no codecs to offer")
    media = MediaDescription(media="audio", port=port, proto="RTP/AVP")
    for name in codecs:
        pt = OUR_STATIC.get(name.upper())
        if pt is None:
            raise SdpError(f"cannot offer codec {name!r}")
        media.formats.append(str(pt))
        media.attributes.append(("rtpmap", f"{pt} {name.upper()}/8000"))
    if telephone_event is not None:
        if not 96 <= telephone_event <= 127:
            raise SdpError("telephone-event needs a dynamic payload type (96-127)")
        media.formats.append(str(telephone_event))
        media.attributes.append(("rtpmap", f"{telephone_event} {TELEPHONE_EVENT}/8000"))
        media.attributes.append(("fmtp", f"{telephone_event} 0-16"))
    media.attributes.append(("ptime", str(ptime)))
    if rtcp_mux:
        media.attributes.append(("rtcp-mux", None))
    media.attributes.append((direction, None))
    return _description(host, session_id, session_version, [media])


def _description(
    host: str, session_id: int | None, session_version: int, media: list[MediaDescription]
) -> SessionDescription:
    conn = Connection.for_host(host)
    sid = str(session_id if session_id is not None else secrets.randbelow(2**31) + 1)
    origin = Origin("voxrelay", sid, session_version, "IN", conn.addrtype, host)
    return SessionDescription(connection=conn, origin=origin, name="voxrelay", media=media)


def _as_description(sdp: bytes | str | SessionDescription) -> SessionDescription:
    return sdp if isinstance(sdp, SessionDescription) else SessionDescription.parse(sdp)


def _usable(media: MediaDescription) -> bool:
    return media.media == "audio" and media.port != 0 and media.proto.upper() in RTP_PROFILES


def _pick_codec(media: MediaDescription, supported: Iterable[str]) -> RtpMap | None:
    """The first offered format (offer order) that we support, at its offered clock rate."""
    wanted = {name.upper() for name in supported}
    for rtpmap in media.rtpmaps():
        if rtpmap.name.upper() in wanted and rtpmap.channels == 1 and rtpmap.clock_rate == 8000:
            return rtpmap
    return None


def _pick_event(media: MediaDescription, clock_rate: int) -> RtpMap | None:
    """telephone-event at the codec's clock rate (RFC 4733 §7.1.1)."""
    return next((m for m in media.rtpmaps() if m.matches(TELEPHONE_EVENT, clock_rate)), None)


def _intersect(a: str, b: str) -> str:
    send = a in ("sendrecv", "sendonly") and b in ("sendrecv", "sendonly")
    recv = a in ("sendrecv", "recvonly") and b in ("sendrecv", "recvonly")
    return {(True, True): "sendrecv", (True, False): "sendonly", (False, True): "recvonly"}.get(
        (send, recv), "inactive"
    )


def _remote_rtcp(media: MediaDescription, mux: bool) -> int:
    value = media.attribute("rtcp")  # RFC 3605: a=rtcp:<port> [<nettype> <addrtype> <addr>]
    if value is not None:
        first = value.split()[0] if value.split() else ""
        if _is_number(first) and 0 < int(first) < 65536:
            return int(first)
    return media.port if mux else media.port + 1


def answer(
    offer_sdp: bytes | str | SessionDescription,
    host: str,
    port: int,
    supported: Sequence[str] = ("PCMU", "PCMA"),
    session_id: int | None = None,
    session_version: int = 0,
    direction: str = "sendrecv",
    ptime: int = 20,
    telephone_event: bool = True,
    rtcp_mux: bool = True,
) -> Negotiated:
    """Answer a remote offer (RFC 3264 §6): our RTP at ``host:port``.

    The first usable audio stream (RTP/AVP or RTP/AVPF, port not 0) with a codec in
    ``supported`` is accepted with that one codec (the first offered one we support) and
    telephone-event at 8000 Hz if offered (its PT from the offer). Every other m= line is
    answered with port 0, in order. ``direction`` is what we want; the answer is the reverse
    of the offered direction narrowed to it. Raises SdpError when nothing matches (-> 488).
    """
    if direction not in DIRECTIONS:
        raise SdpError(f"unknown direction {direction!r}")
    remote = _as_description(offer_sdp)
    chosen: tuple[int, RtpMap] | None = None
    for index, media in enumerate(remote.media):
        if _usable(media) and remote.connection_for(media) is not None:
            codec = _pick_codec(media, supported)
            if codec is not None:
                chosen = (index, codec)
                break
    if chosen is None:
        raise SdpError("no acceptable audio stream or codec in the offer")
    index, codec = chosen
    theirs = remote.media[index]
    conn = remote.connection_for(theirs)
    assert conn is not None
    offered_direction = remote.direction_of(theirs)
    ours = _intersect(REVERSE[offered_direction], direction)
    event = _pick_event(theirs, codec.clock_rate) if telephone_event else None
    mux = rtcp_mux and theirs.has("rtcp-mux")

    answered: list[MediaDescription] = []
    for i, media in enumerate(remote.media):
        if i != index:
            answered.append(
                MediaDescription(
                    media=media.media,
                    port=0,
                    proto=media.proto,
                    formats=list(media.formats) or ["0"],
                )
            )
            continue
        mine = MediaDescription(media="audio", port=port, proto=media.proto)
        mine.formats.append(str(codec.payload_type))
        mine.attributes.append(("rtpmap", str(codec)))
        if event is not None:
            mine.formats.append(str(event.payload_type))
            mine.attributes.append(("rtpmap", str(event)))
            events = theirs.fmtp(event.payload_type) or "0-16"
            mine.attributes.append(("fmtp", f"{event.payload_type} {events}"))
        mine.attributes.append(("ptime", str(ptime)))
        if mux:
            mine.attributes.append(("rtcp-mux", None))
        mine.attributes.append((ours, None))
        answered.append(mine)
    sdp = _description(host, session_id, session_version, answered)
    on_hold = offered_direction in ("sendonly", "inactive") or conn.is_hold
    return Negotiated(
        codec=codec.name.upper(),
        payload_type=codec.payload_type,
        clock_rate=codec.clock_rate,
        telephone_event=event.payload_type if event else None,
        remote_host=conn.host,
        remote_port=theirs.port,
        direction=ours,
        ptime=remote.ptime_of(theirs) or 20,
        answer_sdp=sdp.serialize(),
        on_hold=on_hold,
        rtcp_mux=mux,
        remote_rtcp_port=_remote_rtcp(theirs, mux),
    )


def read_answer(
    offer_sdp: bytes | str | SessionDescription, answer_sdp: bytes | str | SessionDescription
) -> Negotiated:
    """Read the answer to our offer (RFC 3264 §7): codec, events, remote address, direction.

    The first audio stream the answer accepts (port not 0) is used; its codec is the first
    format of the answer that we offered (PTs as the answer lists them, which is what we send).
    Raises SdpError if the answer does not match the offer (different number of m= lines),
    rejects every audio stream of ours (port 0) or has no common codec.
    """
    ours = _as_description(offer_sdp)
    theirs = _as_description(answer_sdp)
    if len(ours.media) != len(theirs.media):
        raise SdpError("the answer has a different number of m= lines than the offer")
    rejected = False
    for mine, media in zip(ours.media, theirs.media, strict=True):
        if not _usable(mine):
            continue
        if media.port == 0:
            rejected = True
            continue
        offered = {m.name.upper() for m in mine.rtpmaps() if m.name.lower() != TELEPHONE_EVENT}
        codec = _pick_codec(media, offered)
        conn = theirs.connection_for(media)
        if codec is None or conn is None:
            raise SdpError("no common codec (or no connection address) in the answer")
        answered_direction = theirs.direction_of(media)
        ours_direction = _intersect(REVERSE[answered_direction], ours.direction_of(mine))
        event = (
            _pick_event(media, codec.clock_rate) if _pick_event(mine, codec.clock_rate) else None
        )
        mux = media.has("rtcp-mux") and mine.has("rtcp-mux")
        return Negotiated(
            codec=codec.name.upper(),
            payload_type=codec.payload_type,
            clock_rate=codec.clock_rate,
            telephone_event=event.payload_type if event else None,
            remote_host=conn.host,
            remote_port=media.port,
            direction=ours_direction,
            ptime=theirs.ptime_of(media) or 20,
            answer_sdp=theirs.serialize(),
            on_hold=conn.is_hold,
            rtcp_mux=mux,
            remote_rtcp_port=_remote_rtcp(media, mux),
        )
    if rejected:
        raise SdpError("the answer rejected our audio stream")
    raise SdpError("our offer has no audio stream")
