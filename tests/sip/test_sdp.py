"""SDP (RFC 4566) parse/serialize and offer/answer (RFC 3264) on real-world descriptions."""

from __future__ import annotations

import pytest

from voxrelay.sip.offeranswer import Negotiated, answer, offer, read_answer
from voxrelay.sip.sdp import SdpError, SessionDescription


def crlf(text: str) -> bytes:
    return "".join(line.strip() + "\r\n" for line in text.strip().splitlines()).encode()


# sipp 3.6.1 `-sn uac` (its built-in scenario), fields filled in as sipp sends them.
SIPP_UAC = crlf("""
    v=0
    o=user1 53655765 2353687637 IN IP4 127.0.0.1
    s=-
    c=IN IP4 127.0.0.1
    t=0 0
    m=audio 6000 RTP/AVP 0
    a=rtpmap:0 PCMU/8000
""")

# The usual shape of a baresip offer: opus first, then G722/PCMU/PCMA, telephone-event at
# 48000 and 8000, rtcp-mux, a video stream we do not take.
BARESIP = crlf("""
    v=0
    o=- 1862385413 2371609127 IN IP4 192.0.2.2
    s=-
    c=IN IP4 192.0.2.2
    t=0 0
    a=tool:baresip 1.0.0
    m=audio 50800 RTP/AVP 96 9 0 8 101 102
    b=AS:96
    a=rtpmap:96 opus/48000/2
    a=fmtp:96 stereo=1;sprop-stereo=1
    a=rtpmap:9 G722/8000
    a=rtpmap:0 PCMU/8000
    a=rtpmap:8 PCMA/8000
    a=rtpmap:101 telephone-event/48000
    a=fmtp:101 0-15
    a=rtpmap:102 telephone-event/8000
    a=fmtp:102 0-15
    a=rtcp-mux
    a=ptime:20
    a=sendrecv
    a=label:1
    a=ssrc:2856012011 cname:9e1c4f6a-7b7f-4f3b-9d4c-0a1b2c3d4e5f
    m=video 50802 RTP/AVP 100
    b=AS:500
    a=rtpmap:100 H264/90000
    a=fmtp:100 packetization-mode=0
    a=sendrecv
""")


def test_parse_sipp() -> None:
    sdp = SessionDescription.parse(SIPP_UAC)
    assert sdp.origin.username == "user1"
    assert sdp.origin.session_version == 2353687637
    assert sdp.connection is not None and sdp.connection.host == "127.0.0.1"
    (audio,) = sdp.media
    assert (audio.media, audio.port, audio.proto, audio.formats) == (
        "audio",
        6000,
        "RTP/AVP",
        ["0"],
    )
    assert audio.rtpmap(0) is not None
    assert sdp.direction_of(audio) == "sendrecv"


def test_parse_baresip_keeps_everything() -> None:
    sdp = SessionDescription.parse(BARESIP)
    audio, video = sdp.media
    assert [m.name for m in audio.rtpmaps()] == [
        "opus",
        "G722",
        "PCMU",
        "PCMA",
        "telephone-event",
        "telephone-event",
    ]
    opus = audio.rtpmap(96)
    assert opus is not None and (opus.clock_rate, opus.channels) == (48000, 2)
    assert audio.fmtp(96) == "stereo=1;sprop-stereo=1"
    assert audio.has("rtcp-mux") and audio.ptime == 20
    assert sdp.attribute("tool") == "baresip 1.0.0"
    assert ("b", "AS:96") in audio.other
    assert video.media == "video"


@pytest.mark.parametrize("data", [SIPP_UAC, BARESIP])
def test_round_trip_is_exact(data: bytes) -> None:
    assert SessionDescription.parse(data).serialize() == data
    assert SessionDescription.parse(data.decode().replace("\r\n", "\n")).serialize() == data


def test_serialize_puts_lines_in_rfc_order_and_adds_t() -> None:
    data = "v=0\no=- 1 1 IN IP4 h\ns=x\na=foo\nc=IN IP4 10.0.0.1\nm=audio 1 RTP/AVP 0\n"
    out = SessionDescription.parse(data).serialize().decode().split("\r\n")
    assert out[:6] == ["v=0", "o=- 1 1 IN IP4 h", "s=x", "c=IN IP4 10.0.0.1", "t=0 0", "a=foo"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("", "v=0"),
        ("v=1\r\no=- 1 1 IN IP4 h\r\n", "v=0"),
        ("v=0\r\ns=-\r\n", "o="),
        ("v=0\r\no=- 1\r\n", "o="),
        ("v=0\r\no=- 1 x IN IP4 h\r\n", "o="),
        ("v=0\r\no=- 1 1 IN IP4 h\r\nm=audio\r\n", "m="),
        ("v=0\r\no=- 1 1 IN IP4 h\r\nm=audio 70000 RTP/AVP 0\r\n", "port"),
        ("v=0\r\no=- 1 1 IN IP4 h\r\nm=audio x RTP/AVP 0\r\n", "port"),
        ("v=0\r\no=- 1 1 IN IP4 h\r\nc=IN IP4\r\n", "c="),
        ("v=0\r\no=- 1 1 IN IP4 h\r\nhello\r\n", "line 3"),
        ("v=0\r\no=- 1 1 IN IP4 h\r\nv=0\r\n", "twice"),
        (b"v=0\r\no=- 1 1 IN IP4 \xff\r\n", "UTF-8"),
    ],
)
def test_malformed(data: str | bytes, message: str) -> None:
    with pytest.raises(SdpError, match=message):
        SessionDescription.parse(data)


def test_malformed_rtpmap() -> None:
    sdp = SessionDescription.parse(BARESIP.replace(b"G722/8000", b"G722"))
    with pytest.raises(SdpError, match="rtpmap"):
        sdp.media[0].rtpmap(9)
    assert "G722" not in [m.name for m in sdp.media[0].rtpmaps()]  # left out, not fatal
    assert answer(sdp, "h", 1).codec == "PCMU"


# -- our offer ---------------------------------------------------------------------------


def test_offer_shape() -> None:
    sdp = offer("203.0.113.5", 40000, session_id=42, session_version=3)
    assert sdp.serialize() == crlf("""
        v=0
        o=voxrelay 42 3 IN IP4 203.0.113.5
        s=voxrelay
        c=IN IP4 203.0.113.5
        t=0 0
        m=audio 40000 RTP/AVP 0 8 101
        a=rtpmap:0 PCMU/8000
        a=rtpmap:8 PCMA/8000
        a=rtpmap:101 telephone-event/8000
        a=fmtp:101 0-16
        a=ptime:20
        a=sendrecv
    """)


def test_offer_options() -> None:
    sdp = offer(
        "::1", 4000, codecs=("PCMA",), telephone_event=None, direction="sendonly", rtcp_mux=True
    )
    text = sdp.serialize().decode()
    assert "c=IN IP6 ::1\r\n" in text and "o=voxrelay " in text and " IN IP6 ::1\r\n" in text
    assert "m=audio 4000 RTP/AVP 8\r\n" in text
    assert "telephone-event" not in text and "a=rtcp-mux" in text and "a=sendonly" in text
    with pytest.raises(SdpError):
        offer("h", 1, codecs=("opus",))
    with pytest.raises(SdpError):
        offer("h", 1, direction="both")
    with pytest.raises(SdpError):
        offer("h", 1, telephone_event=13)


# -- answering -----------------------------------------------------------------------------


def test_answer_sipp() -> None:
    neg = answer(SIPP_UAC, "127.0.0.1", 30000, session_id=7)
    assert isinstance(neg, Negotiated)
    assert (neg.codec, neg.payload_type, neg.clock_rate) == ("PCMU", 0, 8000)
    assert neg.telephone_event is None
    assert (neg.remote_host, neg.remote_port) == ("127.0.0.1", 6000)
    assert (neg.direction, neg.ptime, neg.on_hold, neg.rtcp_mux) == ("sendrecv", 20, False, False)
    assert neg.remote_rtcp_port == 6001
    assert neg.answer_sdp == crlf("""
        v=0
        o=voxrelay 7 0 IN IP4 127.0.0.1
        s=voxrelay
        c=IN IP4 127.0.0.1
        t=0 0
        m=audio 30000 RTP/AVP 0
        a=rtpmap:0 PCMU/8000
        a=ptime:20
        a=sendrecv
    """)


def test_answer_baresip() -> None:
    neg = answer(BARESIP, "192.0.2.10", 30000)
    assert (neg.codec, neg.payload_type) == ("PCMU", 0)
    assert neg.telephone_event == 102  # the 8000 Hz one, its PT from the offer
    assert (neg.remote_host, neg.remote_port) == ("192.0.2.2", 50800)
    assert neg.rtcp_mux and neg.remote_rtcp_port == 50800
    sdp = SessionDescription.parse(neg.answer_sdp)
    audio, video = sdp.media
    assert audio.formats == ["0", "102"]
    assert audio.fmtp(102) == "0-15"
    assert audio.has("rtcp-mux") and audio.direction == "sendrecv"
    assert (video.media, video.port, video.formats) == ("video", 0, ["100"])


def test_answer_prefers_offer_order_and_respects_supported() -> None:
    pcma_first = BARESIP.replace(b"RTP/AVP 96 9 0 8 101 102", b"RTP/AVP 8 0 102")
    assert answer(pcma_first, "h", 1).codec == "PCMA"
    assert answer(BARESIP, "h", 1, supported=("PCMA",)).payload_type == 8
    with pytest.raises(SdpError):
        answer(BARESIP, "h", 1, supported=("G729",))


def test_static_payload_without_rtpmap_and_lowercase_names() -> None:
    sdp = crlf("""
        v=0
        o=- 1 1 IN IP4 10.0.0.1
        s=-
        c=IN IP4 10.0.0.1
        t=0 0
        m=audio 5004 RTP/AVP 18 8 97
        a=rtpmap:97 telephone-event/8000
    """)
    neg = answer(sdp, "h", 1)
    assert (neg.codec, neg.payload_type, neg.telephone_event) == ("PCMA", 8, 97)
    assert b"a=fmtp:97 0-16" in neg.answer_sdp  # none offered: ours
    dynamic = sdp.replace(b"18 8 97", b"18 110 97") + b"a=rtpmap:110 pcmu/8000\r\n"
    neg = answer(dynamic, "h", 1)
    assert (neg.codec, neg.payload_type) == ("PCMU", 110)
    assert b"a=rtpmap:110 pcmu/8000" in neg.answer_sdp


@pytest.mark.parametrize(
    ("offered", "answered", "hold"),
    [
        ("sendrecv", "sendrecv", False),
        ("sendonly", "recvonly", True),
        ("recvonly", "sendonly", False),
        ("inactive", "inactive", True),
    ],
)
def test_answer_direction_and_hold(offered: str, answered: str, hold: bool) -> None:
    neg = answer(SIPP_UAC + f"a={offered}\r\n".encode(), "h", 1)
    assert (neg.direction, neg.on_hold) == (answered, hold)
    assert f"a={answered}\r\n".encode() in neg.answer_sdp
    assert neg.sends == (answered in ("sendrecv", "sendonly") and not hold)


def test_session_level_direction_applies_to_media() -> None:
    data = SIPP_UAC.replace(b"t=0 0\r\n", b"t=0 0\r\na=sendonly\r\n")
    assert answer(data, "h", 1).direction == "recvonly"


def test_our_direction_narrows_the_answer() -> None:
    assert answer(SIPP_UAC, "h", 1, direction="recvonly").direction == "recvonly"
    sendonly = SIPP_UAC + b"a=sendonly\r\n"
    assert answer(sendonly, "h", 1, direction="sendonly").direction == "inactive"


def test_hold_reinvite_old_style_zero_address() -> None:
    reinvite = crlf("""
        v=0
        o=user1 53655765 2353687638 IN IP4 127.0.0.1
        s=-
        c=IN IP4 0.0.0.0
        t=0 0
        m=audio 6000 RTP/AVP 0 101
        a=rtpmap:0 PCMU/8000
        a=rtpmap:101 telephone-event/8000
        a=fmtp:101 0-16
    """)
    neg = answer(reinvite, "127.0.0.1", 30000, session_id=7, session_version=1)
    assert neg.on_hold and not neg.sends
    assert neg.remote_host == "0.0.0.0"
    assert b"o=voxrelay 7 1 IN IP4" in neg.answer_sdp


def test_hold_reinvite_sendonly_then_resume() -> None:
    hold = BARESIP.replace(b"a=sendrecv\r\na=label", b"a=sendonly\r\na=label")
    neg = answer(hold, "h", 1)
    assert neg.on_hold and neg.direction == "recvonly"
    assert not answer(BARESIP, "h", 1).on_hold


def test_ipv6() -> None:
    data = crlf("""
        v=0
        o=- 2890844526 2890842807 IN IP6 2001:db8::1
        s=-
        t=0 0
        m=audio 49170 RTP/AVP 0
        c=IN IP6 2001:db8::2
        a=ptime:30
    """)
    neg = answer(data, "2001:db8::10", 30000)
    assert (neg.remote_host, neg.remote_port, neg.ptime) == ("2001:db8::2", 49170, 30)
    assert b"c=IN IP6 2001:db8::10\r\n" in neg.answer_sdp
    assert b" IN IP6 2001:db8::10\r\n" in neg.answer_sdp.split(b"\r\n")[1] + b"\r\n"


def test_media_level_connection_wins_and_is_required() -> None:
    data = SIPP_UAC.replace(
        b"m=audio 6000 RTP/AVP 0\r\n", b"m=audio 6000 RTP/AVP 0\r\nc=IN IP4 10.9.9.9\r\n"
    )
    assert answer(data, "h", 1).remote_host == "10.9.9.9"
    no_connection = SIPP_UAC.replace(b"c=IN IP4 127.0.0.1\r\n", b"")
    with pytest.raises(SdpError):
        answer(no_connection, "h", 1)


def test_rejected_streams_keep_order() -> None:
    data = crlf("""
        v=0
        o=- 1 1 IN IP4 10.0.0.1
        s=-
        c=IN IP4 10.0.0.1
        t=0 0
        m=video 5000 RTP/AVP 31
        m=audio 0 RTP/AVP 0
        m=audio 5002 RTP/SAVP 0
        m=audio 5004 RTP/AVP 0
        m=application 5006 UDP/BFCP *
    """)
    neg = answer(data, "h", 7000)
    ports = [(m.media, m.port) for m in SessionDescription.parse(neg.answer_sdp).media]
    assert ports == [("video", 0), ("audio", 0), ("audio", 0), ("audio", 7000), ("application", 0)]
    assert neg.remote_port == 5004


@pytest.mark.parametrize(
    "data",
    [
        b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4 h\r\nt=0 0\r\n",
        b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4 h\r\nt=0 0\r\nm=video 1 RTP/AVP 31\r\n",
        b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4 h\r\nt=0 0\r\nm=audio 1 RTP/AVP 96\r\n"
        b"a=rtpmap:96 opus/48000/2\r\n",
        b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4 h\r\nt=0 0\r\n"
        b"m=audio 1 UDP/TLS/RTP/SAVPF 0\r\n",
    ],
)
def test_nothing_acceptable_is_an_sdp_error(data: bytes) -> None:
    with pytest.raises(SdpError):
        answer(data, "h", 1)


# -- reading the answer to our offer --------------------------------------------------------------


def test_read_answer_round_trip() -> None:
    ours = offer("10.0.0.1", 20000, session_id=1)
    theirs = answer(ours.serialize(), "10.0.0.2", 30000, supported=("PCMA", "PCMU"))
    neg = read_answer(ours, theirs.answer_sdp)
    assert (neg.codec, neg.payload_type, neg.telephone_event) == ("PCMU", 0, 101)
    assert (neg.remote_host, neg.remote_port, neg.direction) == ("10.0.0.2", 30000, "sendrecv")
    assert neg.answer_sdp == theirs.answer_sdp


def test_read_answer_from_baresip_like_peer() -> None:
    ours = offer("10.0.0.1", 20000, codecs=("PCMA", "PCMU"), rtcp_mux=True)
    reply = crlf("""
        v=0
        o=- 3 4 IN IP4 10.0.0.3
        s=-
        c=IN IP4 10.0.0.3
        t=0 0
        m=audio 50800 RTP/AVP 0 101
        a=rtpmap:0 PCMU/8000
        a=rtpmap:101 telephone-event/8000
        a=rtcp-mux
        a=recvonly
    """)
    neg = read_answer(ours.serialize(), reply)
    assert (neg.codec, neg.telephone_event, neg.direction) == ("PCMU", 101, "sendonly")
    assert neg.rtcp_mux and neg.remote_rtcp_port == 50800


def test_read_answer_errors() -> None:
    ours = offer("10.0.0.1", 20000)
    rejected = SIPP_UAC.replace(b"m=audio 6000", b"m=audio 0")
    with pytest.raises(SdpError, match="rejected"):
        read_answer(ours, rejected)
    with pytest.raises(SdpError, match="codec"):
        read_answer(
            ours, SIPP_UAC.replace(b"RTP/AVP 0", b"RTP/AVP 18").replace(b"0 PCMU", b"18 G729")
        )
    with pytest.raises(SdpError, match="m= lines"):
        read_answer(ours, SIPP_UAC + b"m=video 0 RTP/AVP 31\r\n")


# -- fuzz: only SdpError, and parse/serialize is stable ------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    lines = draw(st.sampled_from([BARESIP, SIPP_UAC])).split(b"\r\n")
    for _ in range(draw(st.integers(0, 6))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.integers(0, 3))
        if op == 0:
            del lines[i]
        elif op == 1:
            lines.insert(i, lines[draw(st.integers(0, len(lines) - 1))])
        elif op == 2:
            cut = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:cut] + draw(st.binary(max_size=6)) + lines[i][cut + 1 :]
        else:
            lines[i] = lines[i].replace(b" ", draw(st.sampled_from([b"", b"  ", b"/", b":"])))
    return b"\r\n".join(lines)


@settings(max_examples=800, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(damaged(), st.binary(max_size=500)))
def test_fuzz_only_sdp_errors(data: bytes) -> None:
    try:
        sdp = SessionDescription.parse(data)
    except SdpError:
        return
    wire = sdp.serialize()
    assert SessionDescription.parse(wire).serialize() == wire
    try:
        neg = answer(sdp, "10.0.0.1", 4000)
    except SdpError:
        return
    assert read_answer(sdp, neg.answer_sdp).payload_type == neg.payload_type
