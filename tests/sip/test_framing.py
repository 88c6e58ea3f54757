"""StreamFramer: SIP over TCP framed by Content-Length (RFC 3261 §18.3)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voxrelay.sip.framing import StreamFramer
from voxrelay.sip.message import SipParseError, parse_message

OPTIONS = (
    b"OPTIONS sip:a@example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bK1\r\n"
    b"From: <sip:b@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\n"
    b"Call-ID: c1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
)
BODY = b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n"
INVITE = (
    b"INVITE sip:a@example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bK2\r\n"
    b"From: <sip:b@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\n"
    b"Call-ID: c2\r\nCSeq: 1 INVITE\r\nContent-Type: application/sdp\r\n"
    b"l: " + str(len(BODY)).encode() + b"\r\n\r\n" + BODY
)


def test_two_messages_in_one_segment() -> None:
    framer = StreamFramer()
    assert framer.feed(OPTIONS + INVITE) == [OPTIONS, INVITE]
    assert framer.buffered == 0


def test_message_split_anywhere() -> None:
    stream = OPTIONS + INVITE + OPTIONS
    for cut in range(1, len(stream)):
        framer = StreamFramer()
        out = framer.feed(stream[:cut]) + framer.feed(stream[cut:])
        assert out == [OPTIONS, INVITE, OPTIONS], cut


def test_byte_by_byte() -> None:
    framer = StreamFramer()
    out: list[bytes] = []
    for i in range(len(INVITE)):
        out += framer.feed(INVITE[i : i + 1])
    assert out == [INVITE]
    assert parse_message(out[0]).body == BODY


def test_body_waits_for_content_length() -> None:
    framer = StreamFramer()
    assert framer.feed(INVITE[:-5]) == []
    assert framer.feed(INVITE[-5:]) == [INVITE]


def test_missing_content_length_means_no_body() -> None:
    msg = OPTIONS.replace(b"Content-Length: 0\r\n", b"")
    assert StreamFramer().feed(msg + OPTIONS) == [msg, OPTIONS]


def test_keepalive_pings_and_stray_crlf() -> None:
    framer = StreamFramer()
    assert framer.feed(b"\r\n\r\n") == []
    assert framer.feed(b"\r\n") == []
    assert framer.feed(b"\r\n" + OPTIONS + b"\r\n") == [OPTIONS]
    assert framer.take_pings() == 2
    assert framer.take_pings() == 0
    assert framer.feed(b"\r\n\r") == []
    assert framer.feed(b"\n" + OPTIONS) == [OPTIONS]
    assert framer.take_pings() == 1


def test_compact_and_odd_spacing_content_length() -> None:
    msg = OPTIONS.replace(b"Content-Length: 0", b"content-LENGTH  :   3 ") + b"abc"
    assert StreamFramer().feed(msg + OPTIONS) == [msg, OPTIONS]


@pytest.mark.parametrize("value", [b"abc", b"-1", b"1 2", b"99999999999", b"\xd9\xa1"])
def test_bad_content_length(value: bytes) -> None:
    msg = OPTIONS.replace(b"Content-Length: 0", b"Content-Length: " + value)
    with pytest.raises(SipParseError) as err:
        StreamFramer().feed(msg)
    assert err.value.status == 400


def test_conflicting_content_lengths() -> None:
    msg = OPTIONS.replace(b"Content-Length: 0", b"Content-Length: 0\r\nl: 4")
    with pytest.raises(SipParseError):
        StreamFramer().feed(msg)


def test_huge_content_length_is_413_before_the_body_arrives() -> None:
    msg = OPTIONS.replace(b"Content-Length: 0", b"Content-Length: 9999999")
    with pytest.raises(SipParseError) as err:
        StreamFramer().feed(msg)
    assert err.value.status == 413


def test_endless_headers_are_413() -> None:
    framer = StreamFramer(max_size=1000)
    framer.feed(OPTIONS[:-4])
    with pytest.raises(SipParseError) as err:
        for _ in range(100):
            framer.feed(b"X-Filler: " + b"y" * 50 + b"\r\n")
    assert err.value.status == 413
    assert framer.buffered == 0
    with pytest.raises(SipParseError):  # the stream is dead
        framer.feed(OPTIONS)


@given(st.lists(st.integers(min_value=1, max_value=64), max_size=30))
def test_any_segmentation(cuts: list[int]) -> None:
    stream = b"\r\n".join([OPTIONS, INVITE, OPTIONS, INVITE])
    framer = StreamFramer()
    out: list[bytes] = []
    pos = 0
    for size in cuts:
        out += framer.feed(stream[pos : pos + size])
        pos += size
    out += framer.feed(stream[pos:])
    assert out == [OPTIONS, INVITE, OPTIONS, INVITE]


@given(st.binary(max_size=2000))
def test_garbage_only_raises_sip_parse_error(data: bytes) -> None:
    framer = StreamFramer(max_size=512)
    try:
        framer.feed(data)
        framer.feed(data)
    except SipParseError:
        pass
