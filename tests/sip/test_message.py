"""SIP message parser hardening: RFC 4475-style torture cases and a hypothesis fuzz."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from voxrelay.sip.message import (
    NameAddr,
    Request,
    Response,
    SipParseError,
    SipUri,
    Via,
    check_request,
    parse_message,
)


def msg(text: str, body: bytes = b"") -> bytes:
    """Lines joined with CRLF; a blank line and the body appended."""
    lines = [line for line in text.strip("\n").split("\n")]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


INVITE = msg(
    """INVITE sip:bob@biloxi.example.com SIP/2.0
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds
Max-Forwards: 70
To: Bob <sip:bob@biloxi.example.com>
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774
Call-ID: a84b4c76e66710@pc33.atlanta.example.com
CSeq: 314159 INVITE
Contact: <sip:alice@pc33.atlanta.example.com>
Content-Type: application/sdp
Content-Length: 4""",
    b"v=0\n",
)

RESPONSE = msg("""SIP/2.0 200 OK
Via: SIP/2.0/UDP server10.biloxi.example.com;branch=z9hG4bK4b43c2ff8.1
Via: SIP/2.0/UDP bigbox3.site3.atlanta.example.com;branch=z9hG4bK77ef4c2312983.1
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds;received=192.0.2.1
To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774
Call-ID: a84b4c76e66710@pc33.atlanta.example.com
CSeq: 314159 INVITE
Content-Length: 0""")


def test_plain_invite() -> None:
    req = parse_message(INVITE)
    assert isinstance(req, Request)
    assert (req.method, req.uri, req.body) == ("INVITE", "sip:bob@biloxi.example.com", b"v=0\n")
    assert req.cseq == (314159, "INVITE")
    check_request(req)


# -- RFC 4475 §3.1.1-style valid messages -------------------------------------------------------


def test_wsinv_whitespace_folding_and_odd_spacing() -> None:
    # Like RFC 4475 §3.1.1.1 "wsinv": folded lines, tabs, spaces around colons.
    data = (
        b"INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0\r\n"
        b"TO :\r\n sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n\r\n"
        b'from   : "J Rosenberg \\\\\\""       <sip:jdrosen@example.com>\r\n'
        b"  ;\r\n  tag = 98asjd8\r\n"
        b"MaX-fOrWaRdS: 0068\r\n"
        b"Call-ID\r\n\t: wsinv.ndaksdj@192.0.2.1\r\n"
        b"Content-Length   : 150\r\n"
        b"cseq: 0009\r\n  INVITE\r\n"
        b"Via  : SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;rport;branch=390skdjuw\r\n"
        b"s :\r\n"
        b"NewFangledHeader:   newfangled value\r\n continued newfangled value\r\n"
        b"UnknownHeaderWithUnusualValue: ;;,,;;,;\r\n"
        b"Content-Type: application/sdp\r\n"
        b"Route:\r\n <sip:services.example.com;lr;unknownwith=value;unknown-no-value>\r\n"
        b"v:  SIP  / 2.0  / TCP     spindle.example.com   ;\r\n"
        b"  branch  =   z9hG4bK9ikj8  ,\r\n"
        b" SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n"
        b" z9hG4bK30239\r\n"
        b'm:"Quoted string \\"\\"" <sip:jdrosen@example.com> ; newparam =\r\n'
        b"      newvalue ;\r\n"
        b"  secondparam ; q = 0.33\r\n"
        b"\r\n" + b"v=0\r\n" + b"x" * 145
    )
    req = parse_message(data)
    assert isinstance(req, Request)
    assert req.call_id == "wsinv.ndaksdj@192.0.2.1"
    assert req.cseq == (9, "INVITE")
    assert req.headers.get("max-forwards") == "0068"
    assert req.headers.get("Subject") == ""
    assert req.headers.get("newfangledheader") == "newfangled value continued newfangled value"
    assert len(req.body) == 150
    vias = [Via.parse(v) for v in req.headers.get_all("Via")]
    assert [(v.transport, v.host, v.branch) for v in vias] == [
        ("UDP", "192.0.2.2", "390skdjuw"),
        ("TCP", "spindle.example.com", "z9hG4bK9ikj8"),
        ("UDP", "192.168.255.111", "z9hG4bK30239"),
    ]
    assert NameAddr.parse(req.header("To")).tag == "1918181833n"
    assert NameAddr.parse(req.header("From")).tag == "98asjd8"
    check_request(req)


def test_compact_forms() -> None:
    data = msg(
        """OPTIONS sip:user@example.com SIP/2.0
v: SIP/2.0/UDP host1.example.com;branch=z9hG4bK1
t: <sip:user@example.com>
f: <sip:caller@example.com>;tag=3
i: compact@example.com
CSeq: 1 OPTIONS
m: <sip:caller@host1.example.com>
k: timer
c: text/plain
l: 5""",
        b"hello",
    )
    req = parse_message(data)
    assert req.call_id == "compact@example.com"
    assert req.headers.get("Supported") == "timer"
    assert req.headers.get("Content-Type") == "text/plain"
    assert req.body == b"hello"
    check_request(req)
    assert b"Call-ID: compact@example.com\r\n" in req.serialize()


def test_escaped_characters_and_unusual_uris() -> None:
    # Like RFC 4475 §3.1.1.2 "intmeth" / §3.1.1.3 "esc01": escapes kept verbatim.
    data = msg("""INVITE sip:sips%3Auser%40example.com@example.net SIP/2.0
To: sip:%75se%72@example.com
From: <sip:I%20have%20spaces@example.net>;tag=938
Max-Forwards: 87
i: esc01.239409asdfakjkn23onasd0-3234
CSeq: 234234 INVITE
Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bKkdjuw
C: application/sdp
Contact:
  <sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>
Content-Length: 0""")
    req = parse_message(data)
    assert isinstance(req, Request)
    assert req.uri == "sip:sips%3Auser%40example.com@example.net"
    uri = SipUri.parse(req.uri)
    assert (uri.user, uri.host) == ("sips%3Auser%40example.com", "example.net")
    assert NameAddr.parse(req.header("From")).uri == "sip:I%20have%20spaces@example.net"
    contact = NameAddr.parse(req.header("Contact"))
    assert contact.uri.startswith("sip:cal%6Cer@host5.example.net")
    check_request(req)


def test_escaped_nulls_are_just_text() -> None:
    data = msg("""REGISTER sip:example.com SIP/2.0
To: sip:null-%00-null@example.com
From: sip:null-%00-null@example.com;tag=839923423
Max-Forwards: 70
Call-ID: escnull.39203ndfvkjdasfkq3w4otrq0adsfdfnavd
CSeq: 14398234 REGISTER
Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw
Contact: <sip:%00@host5.example.com>
Contact: <sip:%00%00@host5.example.com>
L:0""")
    req = parse_message(data)
    assert len(req.headers.get_all("Contact")) == 2
    check_request(req)


def test_unknown_method_and_unknown_headers() -> None:
    data = msg("""NEWMETHOD sip:user@example.com SIP/2.0
To: sip:j.user@example.com
From: sip:caller@example.net;tag=34525
Max-Forwards: 6
Call-ID: unkm.8sj3k9@example.net
CSeq: 8 NEWMETHOD
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKkdjuw
X-Very-Unknown: !%*_+`'~-.
Content-Length: 0""")
    req = parse_message(data)
    assert isinstance(req, Request) and req.method == "NEWMETHOD"
    assert req.headers.get("x-very-unknown") == "!%*_+`'~-."
    check_request(req)


def test_bare_lf_line_endings_and_leading_crlf() -> None:
    data = b"\r\n\r\n" + INVITE.replace(b"\r\n", b"\n")
    req = parse_message(data)
    assert isinstance(req, Request) and req.body == b"v=0\n"


def test_multiple_vias_in_a_response_and_list_form() -> None:
    resp = parse_message(RESPONSE)
    assert isinstance(resp, Response) and (resp.status, resp.reason) == (200, "OK")
    assert len(resp.headers.get_all("Via")) == 3
    joined = RESPONSE.replace(b"\r\nVia: SIP/2.0/UDP bigbox3", b", SIP/2.0/UDP bigbox3")
    assert len(parse_message(joined).headers.get_all("Via")) == 3
    assert Via.parse(resp.headers.get_all("Via")[2]).params["received"] == "192.0.2.1"


@pytest.mark.parametrize(
    ("line", "status", "reason"),
    [
        (b"SIP/2.0 200 OK", 200, "OK"),
        (b"SIP/2.0 183", 183, ""),
        (b"SIP/2.0 183 ", 183, ""),
        (b"SIP/2.0 486 Busy  Here, really:  try later!", 486, "Busy  Here, really:  try later!"),
        ("SIP/2.0 480 Nicht verfügbar — später".encode(), 480, "Nicht verfügbar — später"),
        (b"SIP/2.0 699 \t tab", 699, "tab"),
        (b"sip/2.0 100 trying", 100, "trying"),
    ],
)
def test_odd_reason_phrases(line: bytes, status: int, reason: str) -> None:
    resp = parse_message(RESPONSE.replace(b"SIP/2.0 200 OK", line, 1))
    assert isinstance(resp, Response) and (resp.status, resp.reason) == (status, reason)


# -- RFC 4475 §3.1.2-style invalid messages --------------------------------------------------


def _without(data: bytes, header: bytes) -> bytes:
    return b"\r\n".join(line for line in data.split(b"\r\n") if not line.startswith(header))


@pytest.mark.parametrize("header", [b"Call-ID", b"CSeq", b"Via", b"From", b"To"])
def test_missing_mandatory_header_is_400(header: bytes) -> None:
    req = parse_message(_without(INVITE, header + b":"))
    assert isinstance(req, Request)
    with pytest.raises(SipParseError) as err:
        check_request(req)
    assert err.value.status == 400


@pytest.mark.parametrize(
    "cseq",
    [
        b"CSeq: INVITE",
        b"CSeq: 1",
        b"CSeq: -1 INVITE",
        b"CSeq: 1x INVITE",
        b"CSeq: 1 BYE",
        b"CSeq: \xc2\xb2 INVITE",
        b"CSeq: 99999999999 INVITE",
        b"CSeq: " + b"9" * 5000 + b" INVITE",
    ],
)
def test_bad_cseq_is_400(cseq: bytes) -> None:
    req = parse_message(INVITE.replace(b"CSeq: 314159 INVITE", cseq))
    with pytest.raises(SipParseError) as err:
        check_request(req)  # type: ignore[arg-type]
    assert err.value.status == 400


@pytest.mark.parametrize(
    "length",
    [
        b"9999999",
        b"99999999999999999999999",
        b"5",
        b"-4",
        b"4 4",
        b"four",
        b"\xc2\xb2",
        b"\xd9\xa4",
        b"9" * 5000,
    ],
)
def test_bad_or_huge_content_length_is_400(length: bytes) -> None:
    with pytest.raises(SipParseError) as err:
        parse_message(INVITE.replace(b"Content-Length: 4", b"Content-Length: " + length))
    assert err.value.status == 400


def test_content_length_shorter_than_the_datagram_truncates() -> None:
    req = parse_message(INVITE.replace(b"Content-Length: 4", b"Content-Length: 2"))
    assert req.body == b"v="


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"", 400),
        (b"\r\n\r\n", 400),
        (b"INVITE sip:a@b SIP/2.0\r\nVia: x\r\n", 400),  # no blank line
        (INVITE.replace(b"SIP/2.0\r\n", b"SIP/7.0\r\n", 1), 505),
        (RESPONSE.replace(b"SIP/2.0 200", b"SIP/3.0 200", 1), 505),
        (INVITE.replace(b"INVITE sip:", b"INVITE  sip:", 1), 400),
        (
            INVITE.replace(
                b"sip:bob@biloxi.example.com SIP", b"sip:bob@biloxi. example.com SIP", 1
            ),
            400,
        ),
        (INVITE.replace(b"INVITE sip", b"IN:VITE sip", 1), 400),
        (INVITE.replace(b"Max-Forwards: 70", b"Max Forwards: 70"), 400),
        (INVITE.replace(b"Max-Forwards: 70", b"Max-Forwards 70"), 400),
        (INVITE.replace(b"Max-Forwards: 70", b": 70"), 400),
        (RESPONSE.replace(b"200 OK", b"20 OK", 1), 400),
        (RESPONSE.replace(b"200 OK", b"2000 OK", 1), 400),
        (RESPONSE.replace(b"200 OK", b"099 OK", 1), 400),
        (RESPONSE.replace(b"200 OK", b"700 OK", 1), 400),
        (RESPONSE.replace(b"200 OK", "٢٠٠ OK".encode(), 1), 400),
        (RESPONSE.replace(b"200 OK", "²²² OK".encode(), 1), 400),
        (INVITE.replace(b"Alice", b"Al\xffce"), 400),
        (b"\x00\x01\x02\r\n\r\n", 400),
        (INVITE + b"x" * 70000, 413),
    ],
)
def test_invalid_messages(data: bytes, status: int) -> None:
    with pytest.raises(SipParseError) as err:
        parse_message(data)
    assert err.value.status == status


def test_via_garbage_is_a_parse_error() -> None:
    for value in [
        "",
        "SIP/2.0",
        "SIP/2.0/UDP",
        "HTTP/1.1/TCP h",
        "SIP/2.0/UDP h:99999",
        "SIP/2.0/UDP [::1",
        "SIP/2.0/UDP h:x",
    ]:
        with pytest.raises(SipParseError):
            Via.parse(value)


def test_via_ipv6_and_rport() -> None:
    via = Via.parse("SIP/2.0/TCP [2001:db8::9]:5061;branch=z9hG4bK1;rport")
    assert (via.host, via.port, via.params["rport"]) == ("2001:db8::9", 5061, "")


# -- fuzz ----------------------------------------------------------------------------------------

SAMPLES = [
    INVITE,
    RESPONSE,
    msg("""BYE sip:a@b SIP/2.0
v: SIP/2.0/TCP h;branch=z9hG4bKx
f: <sip:b@c>;tag=1
t: <sip:a@b>;tag=2
i: x
CSeq: 2 BYE"""),
]


def _parse_or_error(data: bytes) -> Request | Response | None:
    try:
        return parse_message(data)
    except SipParseError as exc:
        assert 400 <= exc.status <= 599
        return None


def _semantic(message: Request | Response) -> tuple[object, ...]:
    start = (
        (message.method, message.uri)
        if isinstance(message, Request)
        else (message.status, message.reason)
    )
    headers = [(k, v) for k, v in message.headers if k != "Content-Length"]
    return (type(message), start, headers, message.body)


def _round_trip(message: Request | Response) -> None:
    """serialize(parse(x)) parses back to the same message, and is then stable."""
    wire = message.serialize()
    again = parse_message(wire)
    assert _semantic(again) == _semantic(message)
    assert again.serialize() == wire


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
@example(b"SIP/2.0 \xb2\xb2\xb2 OK\r\n\r\n")
@example("SIP/2.0 ²²² OK\r\n\r\n".encode())
@example(b"INVITE sip:a SIP/2.0\r\nl: \xc2\xb2\r\n\r\n")
def test_fuzz_bytes(data: bytes) -> None:
    message = _parse_or_error(data)
    if message is not None:
        _round_trip(message)


token_chars = st.sampled_from("abcXYZ019-.!%*_+`'~")
header_names = st.one_of(
    st.sampled_from(
        [
            "Via",
            "v",
            "Call-ID",
            "i",
            "CSeq",
            "l",
            "Content-Length",
            "To",
            "f",
            "m",
            "X-Custom",
            "max-forwards",
            "Contact",
            "Route",
        ]
    ),
    st.text(token_chars, min_size=1, max_size=12),
)
header_values = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=60
)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A valid message with structured damage: headers added, dropped, duplicated or swapped,
    lines cut or folded, bytes replaced, the body resized."""
    base = draw(st.sampled_from(SAMPLES))
    head, _, body = base.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    for _ in range(draw(st.integers(0, 6))):
        op = draw(st.integers(0, 7))
        i = draw(st.integers(0, len(lines) - 1))
        if op == 0:
            name, value = draw(header_names), draw(header_values)
            lines.insert(max(1, i), f"{name}: {value}".encode())
        elif op == 1 and len(lines) > 1:
            del lines[max(1, i)]
        elif op == 2:
            lines.insert(i, lines[i])
        elif op == 3:
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == 4:
            cut = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:cut] + b"\r\n " + lines[i][cut:]
        elif op == 5:
            cut = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:cut] + draw(st.binary(max_size=4)) + lines[i][cut + 1 :]
        elif op == 6:
            body = draw(st.binary(max_size=40))
        else:
            lines[i] = lines[i].replace(b" ", draw(st.sampled_from([b"  ", b"\t", b" \t ", b""])))
    sep = draw(st.sampled_from([b"\r\n", b"\n"]))
    return sep.join(lines) + sep + sep + body


@settings(max_examples=1000, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_fuzz_structured(data: bytes) -> None:
    message = _parse_or_error(data)
    if message is None:
        return
    _round_trip(message)
    if isinstance(message, Request):
        try:
            check_request(message)
            for via in message.headers.get_all("Via"):
                Via.parse(via)
            for name in ("From", "To"):
                SipUri.parse(NameAddr.parse(message.header(name)).uri)
        except SipParseError:
            pass


@given(st.sampled_from(SAMPLES))
def test_valid_samples_round_trip(data: bytes) -> None:
    message = parse_message(data)
    _round_trip(message)


def test_ipv6_hosts_serialize_in_brackets() -> None:
    via = Via.parse("SIP/2.0/UDP [2001:db8::9]:5060;branch=z9hG4bK1")
    assert str(via) == "SIP/2.0/UDP [2001:db8::9]:5060;branch=z9hG4bK1"
    assert Via.parse(str(via)) == via
    uri = SipUri.parse("sip:alice@[2001:db8::1]:5070;transport=tcp")
    assert str(uri) == "sip:alice@[2001:db8::1]:5070;transport=tcp"
    assert str(SipUri.parse("sip:[::1]")) == "sip:[::1]"


@pytest.mark.parametrize("value", [b"many", b"-1", b"256", b"1.5", b"\xc2\xb2", b"9" * 500])
def test_bad_max_forwards_is_400(value: bytes) -> None:
    req = parse_message(INVITE.replace(b"Max-Forwards: 70", b"Max-Forwards: " + value))
    with pytest.raises(SipParseError) as err:
        check_request(req)  # type: ignore[arg-type]
    assert err.value.status == 400


@pytest.mark.parametrize("value", [b"0", b"70", b"255", b"0070"])
def test_good_max_forwards(value: bytes) -> None:
    req = parse_message(INVITE.replace(b"Max-Forwards: 70", b"Max-Forwards: " + value))
    check_request(req)  # type: ignore[arg-type]
