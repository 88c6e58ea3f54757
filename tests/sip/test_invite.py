"""The INVITE session usage (RFC 3261 §§13-15, RFC 6026) on a fake clock: no sockets, no loop.

The test plays the peer by hand: it reads what the session put on the wire (``Wire.sent``)
and feeds it responses and requests, as the user agent would.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.sip.clock import Clock
from voxrelay.sip import offeranswer
from voxrelay.sip.dialog import new_branch
from voxrelay.sip.digest import DigestAuth
from voxrelay.sip.invite import (
    TRANSITIONS,
    InviteSession,
    InviteState,
    InviteStateError,
    glare_delay,
)
from voxrelay.sip.message import Request, Response, parse_message, response_to
from voxrelay.sip.sdp import SdpError, SessionDescription
from voxrelay.sip.transaction import T1, T2, ClientTransaction, ServerTransaction

S = InviteState
PEER_CONTACT = "<sip:bob@127.0.0.1:5070>"
OFFER = offeranswer.offer("127.0.0.1", 40000, session_id=7).serialize()


class Wire:
    """A fake ``invite.Link``: records every message sent (by the session and by the
    transactions it starts) and which sessions were routed and ended."""

    contact = "<sip:voxrelay@127.0.0.1:5060>"

    def __init__(self, clock: Clock, reliable: bool = False) -> None:
        self.clock = clock
        self.reliable = reliable
        self.sent: list[Request | Response] = []
        self.routed: list[InviteSession] = []
        self.ended: list[InviteSession] = []

    def via(self) -> str:
        return f"SIP/2.0/UDP 127.0.0.1:5060;branch={new_branch()};rport"

    def send(self, message: Request | Response) -> None:
        self.sent.append(message)

    def client(
        self, request: Request, on_response: Callable[[Response], None]
    ) -> ClientTransaction:
        tx = ClientTransaction(request, self.send, self.clock.schedule, self.reliable, on_response)
        tx.start()
        return tx

    def dialog_ready(self, session: InviteSession) -> None:
        self.routed.append(session)

    def terminated(self, session: InviteSession) -> None:
        self.ended.append(session)

    def requests(self, method: str) -> list[Request]:
        return [m for m in self.sent if isinstance(m, Request) and m.method == method]

    def responses(self, status: int | None = None) -> list[Response]:
        return [
            m
            for m in self.sent
            if isinstance(m, Response) and (status is None or m.status == status)
        ]

    def last(self, method: str) -> Request:
        return self.requests(method)[-1]


def state(session: InviteSession) -> InviteState:
    """The state now (a call, so mypy does not narrow it across steps)."""
    return session.state


def parse_request(text: str, body: bytes = b"") -> Request:
    head = text.strip().replace("\n", "\r\n")
    extra = "\r\nContent-Type: application/sdp" if body else ""
    data = f"{head}{extra}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
    message = parse_message(data)
    assert isinstance(message, Request)
    return message


def our_invite(body: bytes = OFFER) -> Request:
    return parse_request(
        f"""
INVITE sip:bob@127.0.0.1:5070 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5060;branch={new_branch()};rport
Max-Forwards: 70
From: <sip:alice@127.0.0.1>;tag=ours
To: <sip:bob@127.0.0.1>
Call-ID: uac-test@127.0.0.1
CSeq: 10 INVITE
Contact: <sip:voxrelay@127.0.0.1:5060>
""",
        body,
    )


def their_request(
    method: str,
    body: bytes = b"",
    cseq: int = 1,
    to_tag: str = "",
    branch: str = "z9hG4bKpeer1",
    from_tag: str = "theirs",
) -> Request:
    """The peer's INVITE (no ``to_tag``) or a request in the dialog it made."""
    to = "<sip:alice@127.0.0.1>" + (f";tag={to_tag}" if to_tag else "")
    return parse_request(
        f"""
{method} sip:alice@127.0.0.1:5060 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5070;branch={branch}
Max-Forwards: 70
From: <sip:bob@127.0.0.1>;tag={from_tag}
To: {to}
Call-ID: uas-test@127.0.0.1
CSeq: {cseq} {method}
Contact: {PEER_CONTACT}
""",
        body,
    )


def reply(request: Request, status: int, body: bytes = b"") -> Response:
    """The peer's response to our ``request`` (To tag ``bob``)."""
    extra = [("Contact", PEER_CONTACT)]
    if body:
        extra.append(("Content-Type", "application/sdp"))
    return response_to(request, status, to_tag="bob", body=body, extra=extra)


def answer_to(offer: bytes, direction: str = "sendrecv") -> bytes:
    return offeranswer.answer(offer, "127.0.0.1", 50000, direction=direction).answer_sdp


def direction_of(body: bytes) -> str:
    sdp = SessionDescription.parse(body)
    return sdp.direction_of(sdp.media[0])


class Peer:
    """The far side of a session's client transactions: our responses go to the transaction
    of the request they answer (the endpoint matches them by branch)."""

    def __init__(self, wire: Wire) -> None:
        self.transactions: list[ClientTransaction] = []
        start = wire.client

        def client(request: Request, on_response: Callable[[Response], None]) -> ClientTransaction:
            tx = start(request, on_response)
            self.transactions.append(tx)
            return tx

        wire.client = client  # type: ignore[method-assign]

    def answer(self, request: Request, status: int, body: bytes = b"") -> Response:
        response = reply(request, status, body)
        self.deliver(request, response)
        return response

    def deliver(self, request: Request, response: Response) -> None:
        next(tx for tx in self.transactions if tx.request is request).receive(response)


def uac(credentials: tuple[str, str] | None = None) -> tuple[InviteSession, Wire, Peer, Clock]:
    clock = Clock()
    wire = Wire(clock)
    peer = Peer(wire)
    session = InviteSession.uac(our_invite(), wire, clock.schedule, credentials)
    session.start()
    return session, wire, peer, clock


def uas(reliable: bool = False) -> tuple[InviteSession, Wire, ServerTransaction, Clock]:
    clock = Clock()
    wire = Wire(clock, reliable)
    tx = ServerTransaction(their_request("INVITE", OFFER), wire.send, clock.schedule, reliable)
    session = InviteSession.uas(tx, wire, clock.schedule, "ours")
    return session, wire, tx, clock


def confirmed_uac() -> tuple[InviteSession, Wire, Peer, Clock]:
    session, wire, peer, clock = uac()
    peer.answer(session.invite, 200, answer_to(OFFER))
    assert state(session) is S.CONFIRMED
    return session, wire, peer, clock


def server_tx(wire: Wire, clock: Clock, request: Request) -> ServerTransaction:
    return ServerTransaction(request, wire.send, clock.schedule, wire.reliable)


def in_dialog(session: InviteSession, method: str, body: bytes = b"", cseq: int = 1) -> Request:
    """A request of the peer in a UAC session's dialog (From bob, To us)."""
    assert session.dialog is not None
    return parse_request(
        f"""
{method} sip:voxrelay@127.0.0.1:5060 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5070;branch={new_branch()}
Max-Forwards: 70
From: <sip:bob@127.0.0.1>;tag={session.dialog.remote_tag}
To: <sip:alice@127.0.0.1>;tag={session.dialog.local_tag}
Call-ID: {session.call_id}
CSeq: {cseq} {method}
Contact: {PEER_CONTACT}
""",
        body,
    )


# -- the table ---------------------------------------------------------------------------------


def test_every_action_of_the_table_is_a_method() -> None:
    for (_role, _state, _event), (_target, action) in TRANSITIONS.items():
        assert action is None or callable(getattr(InviteSession, action))


def test_a_call_in_a_wrong_state_raises_instead_of_doing_nothing() -> None:
    session, _wire, _tx, _clock = uas()
    with pytest.raises(InviteStateError):
        session.modify(OFFER)  # no dialog yet
    with pytest.raises(InviteStateError):
        session.cancel()  # a UAS does not CANCEL
    session.answer(answer_to(OFFER))
    with pytest.raises(InviteStateError):
        session.answer(answer_to(OFFER))
    with pytest.raises(InviteStateError):
        session.ring()
    session.receive_ack(their_request("ACK", cseq=1, to_tag="ours", branch="z9hG4bKack"))
    session.hang_up()
    assert state(session) is S.TERMINATED and not session.active
    with pytest.raises(InviteStateError):
        session.hang_up()
    caller, *_ = uac()
    with pytest.raises(InviteStateError):
        caller.answer(b"")  # a UAC does not answer


# -- UAC: CANCEL, 401 ---------------------------------------------------------------------------


def test_a_200_crossing_our_cancel_is_acked_and_ended_with_bye() -> None:
    session, wire, peer, _clock = uac()
    answered: list[InviteSession] = []
    ended: list[InviteSession] = []
    session.on_answered = answered.append
    session.on_ended = ended.append
    peer.answer(session.invite, 180)
    assert state(session) is S.EARLY
    session.cancel()
    assert state(session) is S.CANCELLING
    cancel = wire.last("CANCEL")
    assert cancel.headers.get("Via") == session.invite.headers.get("Via")  # same branch
    peer.answer(session.invite, 200, answer_to(OFFER))  # the 200 crossed the CANCEL
    ack, bye = wire.last("ACK"), wire.last("BYE")
    assert ack.cseq == (10, "ACK") and bye.cseq[1] == "BYE"
    assert bye.header("To").endswith("tag=bob")
    assert state(session) is S.TERMINATED and session.ended_by == "local"
    assert answered == [] and ended == [session] and wire.ended == [session]


def test_cancel_before_any_provisional_waits_for_one() -> None:
    session, wire, peer, _clock = uac()
    session.cancel()
    assert state(session) is S.CANCELLING and wire.requests("CANCEL") == []
    peer.answer(session.invite, 100)
    assert len(wire.requests("CANCEL")) == 1
    peer.answer(session.invite, 487)
    assert state(session) is S.TERMINATED
    assert session.end_status == 487 and session.ended_by == "local"
    assert wire.last("ACK").cseq == (10, "ACK")  # the transaction ACKs a non-2xx


def test_no_final_response_after_our_cancel_gives_up_at_64_t1() -> None:
    session, _wire, peer, clock = uac()
    peer.answer(session.invite, 180)
    session.cancel()
    clock.advance(64 * T1 + 0.1)
    assert state(session) is S.TERMINATED and session.end_status == 408


def challenge_401(request: Request) -> Response:
    challenges = DigestAuth("voxrelay", b"secret" * 6).challenge_headers()
    response = reply(request, 401)
    for value in challenges:
        response.headers.add("WWW-Authenticate", value)
    return response


def test_a_401_is_answered_once_with_credentials() -> None:
    session, wire, peer, _clock = uac(credentials=("project", "PTtoken"))
    first = session.invite
    peer.deliver(first, challenge_401(first))
    retry = session.invite
    assert state(session) is S.CALLING and retry is not first
    assert retry.cseq == (11, "INVITE") and retry.body == OFFER
    assert retry.header("Authorization").startswith("Digest ")
    assert 'username="project"' in retry.header("Authorization")
    assert wire.requests("INVITE")[-1] is retry
    # refused again: the call fails with the 401, no third INVITE
    peer.deliver(retry, challenge_401(retry))
    assert state(session) is S.TERMINATED and session.end_status == 401
    assert len([r for r in wire.requests("INVITE") if r.cseq[0] == 12]) == 0


def test_a_401_without_credentials_fails_the_call() -> None:
    session, _wire, peer, _clock = uac()
    peer.deliver(session.invite, challenge_401(session.invite))
    assert state(session) is S.TERMINATED
    assert session.end_status == 401 and session.ended_by == "remote"


def test_a_2xx_retransmission_gets_the_same_ack_again() -> None:
    session, wire, peer, _clock = confirmed_uac()
    ok = reply(session.invite, 200, answer_to(OFFER))
    peer.deliver(session.invite, ok)  # in Accepted: passed up again
    session.receive_2xx_again(ok)  # after the transaction ended: from the user agent
    acks = wire.requests("ACK")
    assert len(acks) == 3 and acks[0] is acks[1] is acks[2]
    assert state(session) is S.CONFIRMED


# -- UAS: the 2xx until the ACK -------------------------------------------------------------------


def test_the_2xx_is_retransmitted_until_the_ack() -> None:
    session, wire, _tx, clock = uas()
    session.ring()
    session.answer(answer_to(OFFER))
    assert state(session) is S.CONNECTING and wire.routed == [session]
    clock.advance(7.6)  # T1, then doubling: 0.5, 1.5, 3.5, 7.5
    oks = wire.responses(200)
    assert len(oks) == 5 and all(ok is oks[0] for ok in oks)
    clock.advance(16.0)  # capped at T2: 11.5, 15.5, 19.5, 23.5
    assert len(wire.responses(200)) == 9
    session.receive_ack(their_request("ACK", cseq=1, to_tag="ours", branch="z9hG4bKack"))
    assert state(session) is S.CONFIRMED
    clock.advance(10 * T2)
    assert len(wire.responses(200)) == 9 and wire.requests("BYE") == []


def test_no_ack_within_64_t1_ends_the_call_with_bye() -> None:
    session, wire, _tx, clock = uas()
    ended: list[InviteSession] = []
    session.on_ended = ended.append
    session.answer(answer_to(OFFER))
    clock.advance(64 * T1 - 0.1)
    assert state(session) is S.CONNECTING and wire.requests("BYE") == []
    clock.advance(0.2)
    bye = wire.last("BYE")
    assert bye.uri == "sip:bob@127.0.0.1:5070" and bye.header("To").endswith("theirs")
    assert state(session) is S.TERMINATED and session.ended_by == "local"
    assert ended == [session]


def test_over_tcp_the_2xx_is_sent_once_and_the_ack_still_awaited() -> None:
    session, wire, _tx, clock = uas(reliable=True)
    session.answer(answer_to(OFFER))
    clock.advance(64 * T1 - 0.1)
    assert len(wire.responses(200)) == 1 and state(session) is S.CONNECTING
    clock.advance(0.2)
    assert state(session) is S.TERMINATED and len(wire.requests("BYE")) == 1


def test_invite_retransmissions_after_the_2xx_are_absorbed() -> None:
    session, wire, tx, clock = uas()
    session.answer(answer_to(OFFER))
    tx.retransmission()  # RFC 6026 Accepted: the transaction absorbs it
    assert len(wire.responses(200)) == 1 and state(session) is S.CONNECTING
    # after the transaction is gone the user agent hands the copy to the session
    again = server_tx(wire, clock, their_request("INVITE", OFFER))
    session.receive_invite_again(again, again.request)
    first, second = wire.responses(200)
    assert second is first
    assert state(session) is S.CONNECTING
    # the same Call-ID, From tag and CSeq on another branch: a merged request
    merged = server_tx(wire, clock, their_request("INVITE", OFFER, branch="z9hG4bKother"))
    session.receive_invite_again(merged, merged.request)
    assert wire.responses()[-1].status == 482


def test_a_cancel_crossing_our_200_has_no_effect() -> None:
    session, wire, _tx, _clock = uas()
    session.answer(answer_to(OFFER))
    session.receive_cancel()
    assert state(session) is S.CONNECTING and wire.responses(487) == []
    session.receive_ack(their_request("ACK", cseq=1, to_tag="ours", branch="z9hG4bKack"))
    assert state(session) is S.CONFIRMED


def test_a_cancel_before_the_answer_gives_487() -> None:
    session, wire, _tx, _clock = uas()
    session.ring()
    session.receive_cancel()
    assert [r.status for r in wire.responses()] == [180, 487]
    assert state(session) is S.TERMINATED
    assert session.end_status == 487 and session.ended_by == "remote"


def test_hanging_up_before_the_ack_sends_bye_when_it_comes() -> None:
    session, wire, _tx, _clock = uas()
    session.answer(answer_to(OFFER))
    session.hang_up()
    assert state(session) is S.TERMINATING and wire.requests("BYE") == []
    session.receive_ack(their_request("ACK", cseq=1, to_tag="ours", branch="z9hG4bKack"))
    assert state(session) is S.TERMINATED and len(wire.requests("BYE")) == 1


def test_bye_from_the_peer_ends_the_call() -> None:
    session, wire, _tx, clock = uas()
    session.answer(answer_to(OFFER))
    session.receive_ack(their_request("ACK", cseq=1, to_tag="ours", branch="z9hG4bKack"))
    bye = server_tx(wire, clock, their_request("BYE", cseq=2, to_tag="ours", branch="z9hG4bKb"))
    session.receive_request(bye, bye.request)
    assert wire.responses()[-1].status == 200 and wire.responses()[-1].cseq == (2, "BYE")
    assert state(session) is S.TERMINATED and session.ended_by == "remote"


# -- re-INVITE: the peer's offer ------------------------------------------------------------------


def hold_offer(direction: str = "sendonly", version: int = 1) -> bytes:
    return offeranswer.offer(
        "127.0.0.1", 50000, direction=direction, session_id=9, session_version=version
    ).serialize()


def answering(session: InviteSession) -> None:
    def answer(s: InviteSession, offer: bytes) -> bytes:
        return offeranswer.answer(offer, "127.0.0.1", 40000, supported=["PCMU"]).answer_sdp

    session.on_reinvite = answer


def test_a_reinvite_for_hold_is_answered_and_its_2xx_resent_until_the_ack() -> None:
    session, wire, _peer, clock = confirmed_uac()
    answering(session)
    reinvite = server_tx(wire, clock, in_dialog(session, "INVITE", hold_offer(), cseq=1))
    session.receive_request(reinvite, reinvite.request)
    ok = wire.responses(200)[-1]
    assert ok.cseq == (1, "INVITE") and direction_of(ok.body) == "recvonly"
    assert state(session) is S.REINVITED and session.remote_sdp == hold_offer()
    clock.advance(1.6)
    assert len([r for r in wire.responses(200) if r.cseq == (1, "INVITE")]) == 3
    ack = in_dialog(session, "ACK", cseq=1)
    session.receive_ack(ack)
    assert state(session) is S.CONFIRMED
    clock.advance(10.0)
    assert len([r for r in wire.responses(200) if r.cseq == (1, "INVITE")]) == 3


def test_a_reinvite_with_nothing_we_can_answer_gets_488() -> None:
    session, wire, _peer, clock = confirmed_uac()
    answering(session)
    before = session.remote_sdp
    g729 = OFFER.replace(b"RTP/AVP 0 8 101", b"RTP/AVP 18").replace(b"PCMU", b"G729")
    with pytest.raises(SdpError):
        offeranswer.answer(g729, "127.0.0.1", 40000)
    reinvite = server_tx(wire, clock, in_dialog(session, "INVITE", g729, cseq=1))
    session.receive_request(reinvite, reinvite.request)
    assert wire.responses()[-1].status == 488
    assert state(session) is S.CONFIRMED and session.remote_sdp == before


def test_an_out_of_order_cseq_gets_500() -> None:
    session, wire, _peer, clock = confirmed_uac()
    answering(session)
    first = server_tx(wire, clock, in_dialog(session, "INFO", cseq=5))
    session.receive_request(first, first.request)
    old = server_tx(wire, clock, in_dialog(session, "INVITE", hold_offer(), cseq=4))
    session.receive_request(old, old.request)
    assert [r.status for r in wire.responses()][-2:] == [200, 500]


# -- re-INVITE: ours (hold, resume) and glare -------------------------------------------------------


def test_modify_holds_and_resumes() -> None:
    session, wire, peer, _clock = confirmed_uac()
    results: list[Response] = []
    session.on_modified = lambda s, r: results.append(r)
    hold = offeranswer.offer("127.0.0.1", 40000, direction="sendonly", session_version=1)
    session.modify(hold.serialize())
    assert state(session) is S.REINVITING
    reinvite = wire.last("INVITE")
    assert reinvite.header("To").endswith("tag=bob") and reinvite.cseq == (11, "INVITE")
    assert direction_of(reinvite.body) == "sendonly"
    with pytest.raises(InviteStateError):
        session.modify(OFFER)  # one INVITE at a time (RFC 3261 §14.1)
    peer.answer(reinvite, 200, answer_to(reinvite.body, "recvonly"))
    assert wire.last("ACK").cseq == (11, "ACK")
    assert state(session) is S.CONFIRMED and [r.status for r in results] == [200]
    neg = offeranswer.read_answer(session.local_sdp, session.remote_sdp)
    assert neg.direction == "sendonly"
    resume = offeranswer.offer("127.0.0.1", 40000, session_version=2).serialize()
    session.modify(resume)
    peer.answer(wire.last("INVITE"), 200, answer_to(resume))
    assert wire.last("ACK").cseq == (12, "ACK")
    assert offeranswer.read_answer(session.local_sdp, session.remote_sdp).direction == "sendrecv"
    assert [r.status for r in results] == [200, 200]


def test_a_refused_modify_leaves_the_session_as_it_was() -> None:
    session, wire, peer, _clock = confirmed_uac()
    results: list[int] = []
    session.on_modified = lambda s, r: results.append(r.status)
    before = session.local_sdp, session.remote_sdp
    session.modify(hold_offer())
    peer.answer(wire.last("INVITE"), 488)
    assert state(session) is S.CONFIRMED and results == [488]
    assert (session.local_sdp, session.remote_sdp) == before


def test_a_481_to_our_reinvite_ends_the_dialog() -> None:
    session, wire, peer, _clock = confirmed_uac()
    session.modify(hold_offer())
    peer.answer(wire.last("INVITE"), 481)
    assert state(session) is S.TERMINATED and len(wire.requests("BYE")) == 1


def modifying() -> tuple[InviteSession, Wire, Peer, Clock, list[int]]:
    """A confirmed UAC session that answers offers, its hold re-INVITE sent; the statuses
    ``on_modified`` gets."""
    session, wire, peer, clock = confirmed_uac()
    answering(session)
    results: list[int] = []
    session.on_modified = lambda s, r: results.append(r.status)
    session.modify(hold_offer())
    return session, wire, peer, clock, results


def test_glare_gets_491_and_ours_goes_again_after_the_wait() -> None:
    session, wire, peer, clock, results = modifying()
    ours = wire.last("INVITE")
    # the peer's re-INVITE arrives while ours is pending: 491 (RFC 3261 §14.1)
    theirs = server_tx(wire, clock, in_dialog(session, "INVITE", hold_offer("inactive"), cseq=1))
    session.receive_request(theirs, theirs.request)
    assert wire.responses()[-1].status == 491 and state(session) is S.REINVITING
    # and they refuse ours the same way: we wait (we own the Call-ID: 2.1 to 4 s) and retry
    peer.answer(ours, 491)
    assert state(session) is S.GLARE and results == []
    clock.advance(2.0)
    assert wire.last("INVITE") is ours
    clock.advance(2.1)
    again = wire.last("INVITE")
    assert again is not ours and again.cseq == (12, "INVITE") and again.body == ours.body
    assert state(session) is S.REINVITING
    peer.answer(again, 200, answer_to(again.body, "recvonly"))
    assert state(session) is S.CONFIRMED and results == [200]


def test_after_glare_the_peers_reinvite_may_go_first() -> None:
    session, wire, peer, clock, results = modifying()
    peer.answer(wire.last("INVITE"), 491)
    theirs = server_tx(wire, clock, in_dialog(session, "INVITE", hold_offer("inactive"), cseq=1))
    session.receive_request(theirs, theirs.request)
    assert wire.responses()[-1].status == 200 and state(session) is S.REINVITED
    assert results == [491]  # ours is dropped: the application may modify() again
    session.receive_ack(in_dialog(session, "ACK", cseq=1))
    clock.advance(5.0)
    assert state(session) is S.CONFIRMED
    assert len(wire.requests("INVITE")) == 2  # the first INVITE and our one re-INVITE


def test_the_glare_wait_depends_on_who_owns_the_call_id() -> None:
    assert glare_delay(True, lambda n: 0) == 2.1 and glare_delay(True, lambda n: n - 1) == 4.0
    assert glare_delay(False, lambda n: 0) == 0.0 and glare_delay(False, lambda n: n - 1) == 2.0
