"""RFC 3261 §17 transactions driven by a fake clock (no sockets, no event loop)."""

from __future__ import annotations

import itertools

from tests.sip.clock import Clock
from voxrelay.sip.message import Request, Response, parse_message, response_to
from voxrelay.sip.transaction import (
    T1,
    T2,
    T4,
    ClientTransaction,
    ServerTransaction,
    State,
    Transaction,
    ack_for,
)


def state(tx: Transaction) -> State:
    """The state now (a call, so mypy does not narrow it across steps)."""
    return tx.state


def request(method: str = "INVITE", branch: str = "z9hG4bKtx1") -> Request:
    text = (
        f"{method} sip:bob@127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:5070;branch={branch}\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:alice@127.0.0.1>;tag=a1\r\n"
        "To: <sip:bob@127.0.0.1>\r\n"
        "Call-ID: tx-test@127.0.0.1\r\n"
        f"CSeq: 5 {method}\r\n"
        "Content-Length: 0\r\n\r\n"
    )
    req = parse_message(text.encode())
    assert isinstance(req, Request)
    return req


def client(
    method: str = "INVITE", reliable: bool = False
) -> tuple[ClientTransaction, Clock, list[tuple[float, Request | Response]], list[Response]]:
    clock = Clock()
    sent: list[tuple[float, Request | Response]] = []
    got: list[Response] = []
    tx = ClientTransaction(
        request(method), lambda m: sent.append((clock.now, m)), clock.schedule, reliable, got.append
    )
    tx.start()
    return tx, clock, sent, got


def server(
    method: str = "INVITE", reliable: bool = False
) -> tuple[ServerTransaction, Clock, list[tuple[float, Request | Response]]]:
    clock = Clock()
    sent: list[tuple[float, Request | Response]] = []
    tx = ServerTransaction(
        request(method), lambda m: sent.append((clock.now, m)), clock.schedule, reliable
    )
    return tx, clock, sent


def statuses(sent: list[tuple[float, Request | Response]]) -> list[int | str]:
    return [m.status if isinstance(m, Response) else m.method for _, m in sent]


# -- client INVITE (§17.1.1) ------------------------------------------------------------------


def test_client_invite_timer_a_doubles_and_timer_b_gives_408() -> None:
    tx, clock, sent, got = client()
    assert state(tx) is State.CALLING
    clock.advance(64 * T1 - 0.001)
    times = [t for t, _ in sent]
    # sent at 0, then A fires at 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 (interval doubling, no cap)
    assert times == [0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    assert all(isinstance(m, Request) and m.method == "INVITE" for _, m in sent)
    assert got == []
    clock.advance(0.002)  # timer B = 64*T1
    assert state(tx) is State.TERMINATED
    assert [r.status for r in got] == [408]
    assert got[0].call_id == "tx-test@127.0.0.1" and got[0].cseq == (5, "INVITE")
    assert clock.armed() == 0


def test_client_invite_over_tcp_does_not_retransmit_but_times_out() -> None:
    _tx, clock, sent, got = client(reliable=True)
    clock.advance(64 * T1 + 1)
    assert len(sent) == 1 and [r.status for r in got] == [408]


def test_client_invite_provisional_stops_retransmissions() -> None:
    tx, clock, sent, got = client()
    clock.advance(0.6)
    tx.receive(response_to(tx.request, 180, to_tag="b1"))
    assert state(tx) is State.PROCEEDING and [r.status for r in got] == [180]
    tx.cancel_timeout()  # the UA waits as long as the callee rings
    clock.advance(100)
    assert statuses(sent) == ["INVITE", "INVITE"]
    assert state(tx) is State.PROCEEDING


def test_client_invite_non_2xx_is_acked_by_the_transaction_and_timer_d() -> None:
    tx, clock, sent, got = client()
    busy = response_to(tx.request, 486, to_tag="b1")
    tx.receive(busy)
    assert state(tx) is State.COMPLETED and [r.status for r in got] == [486]
    ack = sent[-1][1]
    assert isinstance(ack, Request) and ack.method == "ACK"
    # same branch and Request-URI as the INVITE, To with the response's tag (§17.1.1.3)
    assert ack.header("Via") == tx.request.header("Via")
    assert ack.uri == tx.request.uri and ack.cseq == (5, "ACK")
    assert "tag=b1" in ack.header("To")
    assert ack.serialize() == ack_for(tx.request, busy).serialize()
    # a retransmitted 486 is ACKed again but not given to the TU
    tx.receive(busy)
    assert statuses(sent) == ["INVITE", "ACK", "ACK"] and len(got) == 1
    clock.advance(31.9)
    assert state(tx) is State.COMPLETED
    clock.advance(0.2)  # timer D: 32 s over UDP
    assert state(tx) is State.TERMINATED
    tx.receive(busy)
    assert statuses(sent) == ["INVITE", "ACK", "ACK"]


def test_client_invite_timer_d_is_zero_over_tcp() -> None:
    tx, clock, _sent, _got = client(reliable=True)
    tx.receive(response_to(tx.request, 603, to_tag="b1"))
    clock.advance(0)
    assert state(tx) is State.TERMINATED


def test_client_invite_2xx_goes_to_the_tu_with_retransmissions_until_timer_m() -> None:
    tx, clock, sent, got = client()
    ok = response_to(tx.request, 200, to_tag="b1")
    tx.receive(ok)
    assert state(tx) is State.ACCEPTED
    tx.receive(ok)  # the TU ACKs 2xx retransmissions itself (RFC 6026)
    assert [r.status for r in got] == [200, 200]
    assert statuses(sent) == ["INVITE"]  # no ACK from the transaction for a 2xx
    clock.advance(64 * T1 + 0.01)
    assert state(tx) is State.TERMINATED


# -- client non-INVITE (§17.1.2) --------------------------------------------------------------


def test_client_non_invite_timer_e_caps_at_t2_and_f_gives_408() -> None:
    tx, clock, sent, got = client("BYE")
    assert state(tx) is State.TRYING
    clock.advance(64 * T1 - 0.001)
    times = [t for t, _ in sent]
    intervals = [round(b - a, 3) for a, b in itertools.pairwise(times)]
    assert intervals[:4] == [0.5, 1.0, 2.0, 4.0]
    assert set(intervals[3:]) == {T2}
    clock.advance(0.002)
    assert state(tx) is State.TERMINATED and [r.status for r in got] == [408]


def test_client_non_invite_provisional_retransmits_at_t2() -> None:
    tx, clock, sent, _got = client("OPTIONS")
    clock.advance(0.1)
    tx.receive(response_to(tx.request, 100))
    assert state(tx) is State.PROCEEDING
    clock.advance(0.5 + T2 * 2 + 0.01)
    times = [t for t, _ in sent]
    assert [round(b - a, 3) for a, b in itertools.pairwise(times)] == [0.5, T2, T2]


def test_client_non_invite_final_then_timer_k() -> None:
    tx, clock, sent, got = client("BYE")
    ok = response_to(tx.request, 200)
    tx.receive(ok)
    assert state(tx) is State.COMPLETED and [r.status for r in got] == [200]
    tx.receive(ok)  # retransmissions absorbed
    assert len(got) == 1
    clock.advance(T4 - 0.01)
    assert state(tx) is State.COMPLETED
    clock.advance(0.02)
    assert state(tx) is State.TERMINATED
    clock.advance(60)
    assert statuses(sent) == ["BYE"]


def test_client_non_invite_timer_k_is_zero_over_tcp() -> None:
    tx, clock, _sent, _got = client("BYE", reliable=True)
    tx.receive(response_to(tx.request, 200))
    clock.advance(0)
    assert state(tx) is State.TERMINATED


def test_client_transport_error_is_503() -> None:
    tx, _clock, _sent, got = client("BYE")
    tx.transport_error()
    assert state(tx) is State.TERMINATED and [r.status for r in got] == [503]


# -- server INVITE (§17.2.1) -----------------------------------------------------------------


def test_server_invite_absorbs_retransmissions_with_the_last_response() -> None:
    tx, _clock, sent = server()
    assert state(tx) is State.PROCEEDING
    tx.retransmission()  # nothing sent yet: nothing to repeat
    assert sent == []
    tx.respond(response_to(tx.request, 100))
    tx.retransmission()
    tx.respond(response_to(tx.request, 180, to_tag="b1"))
    tx.retransmission()
    tx.retransmission()
    assert statuses(sent) == [100, 100, 180, 180, 180]
    assert state(tx) is State.PROCEEDING


def test_server_invite_non_2xx_timer_g_until_ack_then_timer_i() -> None:
    tx, clock, sent = server()
    tx.respond(response_to(tx.request, 486, to_tag="b1"))
    assert state(tx) is State.COMPLETED
    clock.advance(7.6)
    times = [round(t, 3) for t, _ in sent]
    assert times == [0, 0.5, 1.5, 3.5, 7.5]  # G: T1 doubling...
    clock.advance(8.0)
    times = [round(t, 3) for t, _ in sent]
    assert times[-2:] == [11.5, 15.5]  # ... capped at T2
    tx.retransmission()  # an INVITE retransmission gets the 486 again
    assert statuses(sent)[-1] == 486
    n = len(sent)
    tx.ack(request("ACK"))
    assert state(tx) is State.CONFIRMED
    clock.advance(T4 - 0.01)
    assert len(sent) == n and state(tx) is State.CONFIRMED  # G stopped; I absorbs ACKs
    tx.ack(request("ACK"))
    clock.advance(0.02)
    assert state(tx) is State.TERMINATED


def test_server_invite_timer_h_without_ack() -> None:
    tx, clock, sent = server()
    terminated: list[object] = []
    tx.on_terminated = terminated.append
    tx.respond(response_to(tx.request, 480, to_tag="b1"))
    clock.advance(64 * T1 - 0.01)
    assert state(tx) is State.COMPLETED
    clock.advance(0.02)
    assert state(tx) is State.TERMINATED and terminated == [tx]
    n = len(sent)
    clock.advance(60)
    tx.retransmission()
    assert len(sent) == n


def test_server_invite_over_tcp_sends_the_final_once() -> None:
    tx, clock, sent = server(reliable=True)
    tx.respond(response_to(tx.request, 486, to_tag="b1"))
    clock.advance(20)
    assert statuses(sent) == [486]
    tx.ack(request("ACK"))
    clock.advance(0)
    assert state(tx) is State.TERMINATED


def test_server_invite_2xx_accepted_hands_acks_to_the_tu_until_timer_l() -> None:
    tx, clock, sent = server()
    acks: list[Request] = []
    tx.on_ack = acks.append
    tx.respond(response_to(tx.request, 200, to_tag="b1"))
    assert state(tx) is State.ACCEPTED
    tx.respond(response_to(tx.request, 486, to_tag="b1"))  # too late: ignored
    clock.advance(5)
    assert statuses(sent) == [200]  # the TU (not the transaction) retransmits a 2xx
    tx.ack(request("ACK", branch="z9hG4bKack2"))
    assert len(acks) == 1
    clock.advance(64 * T1)
    assert state(tx) is State.TERMINATED


# -- server non-INVITE (§17.2.2) -----------------------------------------------------------


def test_server_non_invite_trying_proceeding_completed_and_timer_j() -> None:
    tx, clock, sent = server("BYE")
    assert state(tx) is State.TRYING
    tx.retransmission()
    assert sent == []  # nothing to repeat yet
    tx.respond(response_to(tx.request, 100))
    assert state(tx) is State.PROCEEDING
    tx.retransmission()
    tx.respond(response_to(tx.request, 200))
    assert state(tx) is State.COMPLETED
    tx.retransmission()  # a retransmitted BYE gets the 200 again
    assert statuses(sent) == [100, 100, 200, 200]
    clock.advance(64 * T1 - 0.01)
    assert state(tx) is State.COMPLETED
    clock.advance(0.02)
    assert state(tx) is State.TERMINATED
    tx.retransmission()
    tx.respond(response_to(tx.request, 500))
    assert statuses(sent) == [100, 100, 200, 200]


def test_server_non_invite_timer_j_is_zero_over_tcp() -> None:
    tx, clock, _sent = server("OPTIONS", reliable=True)
    tx.respond(response_to(tx.request, 200))
    clock.advance(0)
    assert state(tx) is State.TERMINATED
