"""SDP offer/answer (RFC 3264) for one audio stream: pjsip's ``sdp_neg`` beside the parser.

``offer()`` builds our offer (also a re-offer for hold: ``direction="sendonly"`` or
``"inactive"``, the same ``session_id`` and a higher ``session_version``, §8); ``answer()``
answers a remote offer (§6) and ``read_answer()`` reads the answer to ours (§7); both return a
``Negotiated`` with what the media leg needs. SDP syntax is ``voxrelay.sip.sdp``. ``SdpError``
means nothing acceptable was offered or a description is malformed: a UAS answers 488.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from voxrelay.sip.sdp import (
    DIRECTIONS,
    Connection,
    MediaDescription,
    Origin,
    RtpMap,
    SdpError,
    SessionDescription,
    is_number,
)

RTP_PROFILES = ("RTP/AVP", "RTP/AVPF")  # what we can answer (no SRTP, no DTLS)
TELEPHONE_EVENT = "telephone-event"

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


def session_id_of(previous: bytes) -> int | None:
    """The o= session id of our previous description, to keep in a re-offer or a new answer
    in the same session (RFC 3264 §8); None when there is none we can read."""
    try:
        text = SessionDescription.parse(previous).origin.session_id
    except SdpError:
        return None
    return int(text) if is_number(text) else None


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
        if is_number(first) and 0 < int(first) < 65536:
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
    ptime = remote.ptime_of(theirs) or 20
    return _negotiated(codec, event, conn, theirs, ours, ptime, sdp.serialize(), on_hold, mux)


def _negotiated(
    codec: RtpMap,
    event: RtpMap | None,
    conn: Connection,
    remote: MediaDescription,
    direction: str,
    ptime: int,
    answer_sdp: bytes,
    on_hold: bool,
    mux: bool,
) -> Negotiated:
    return Negotiated(
        codec=codec.name.upper(),
        payload_type=codec.payload_type,
        clock_rate=codec.clock_rate,
        telephone_event=event.payload_type if event else None,
        remote_host=conn.host,
        remote_port=remote.port,
        direction=direction,
        ptime=ptime,
        answer_sdp=answer_sdp,
        on_hold=on_hold,
        rtcp_mux=mux,
        remote_rtcp_port=_remote_rtcp(remote, mux),
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
        ptime = theirs.ptime_of(media) or 20
        answer = theirs.serialize()
        return _negotiated(
            codec, event, conn, media, ours_direction, ptime, answer, conn.is_hold, mux
        )
    if rejected:
        raise SdpError("the answer rejected our audio stream")
    raise SdpError("our offer has no audio stream")
