"""SIP transactions (RFC 3261 §17, with RFC 6026's Accepted states). Sans-I/O but for timers.

A transaction gets messages from the transport (``receive``) and requests from its user
(``respond`` for server transactions); it sends through ``send`` and arms timers through
``schedule`` (both injected, so tests drive time by hand). States are named after the RFC:

* client INVITE: calling -> proceeding -> completed | accepted -> terminated
  (timers A retransmit, B timeout, D wait, M absorb 2xx retransmissions)
* client non-INVITE: trying -> proceeding -> completed -> terminated (E, F, K)
* server INVITE: proceeding -> completed -> confirmed | accepted -> terminated (G, H, I, L)
* server non-INVITE: trying -> proceeding -> completed -> terminated (J)

Retransmission timers run only over unreliable transports (UDP).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import StrEnum
from typing import Protocol

from voxrelay.sip.message import Headers, Request, Response, Via

log = logging.getLogger(__name__)

T1 = 0.5
T2 = 4.0
T4 = 5.0


class Handle(Protocol):
    def cancel(self) -> None: ...


Schedule = Callable[[float, Callable[[], None]], Handle]
Send = Callable[[Request | Response], None]


class State(StrEnum):
    CALLING = "calling"
    TRYING = "trying"
    PROCEEDING = "proceeding"
    COMPLETED = "completed"
    CONFIRMED = "confirmed"
    ACCEPTED = "accepted"
    TERMINATED = "terminated"


class Timers:
    """Named one-shot timers over an injected ``schedule``: arming a name again replaces it."""

    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule
        self._handles: dict[str, Handle] = {}

    def arm(self, name: str, delay: float, fn: Callable[[], None]) -> None:
        self.disarm(name)
        self._handles[name] = self.schedule(delay, fn)

    def disarm(self, name: str) -> None:
        handle = self._handles.pop(name, None)
        if handle is not None:
            handle.cancel()

    def clear(self) -> None:
        for handle in self._handles.values():
            handle.cancel()
        self._handles.clear()


class Transaction:
    """Common parts: state, timers, termination callback."""

    def __init__(self, request: Request, send: Send, schedule: Schedule, reliable: bool) -> None:
        self.request = request
        self.send = send
        self.schedule = schedule
        self.reliable = reliable
        self.state = State.TRYING
        self.on_terminated: Callable[[Transaction], None] | None = None
        self.timers = Timers(schedule)

    @property
    def branch(self) -> str:
        return Via.parse(self.request.header("Via")).branch

    def _terminate(self) -> None:
        if self.state is State.TERMINATED:
            return
        self.state = State.TERMINATED
        self.timers.clear()
        if self.on_terminated is not None:
            self.on_terminated(self)


# -- client ---------------------------------------------------------------------------------


class ClientTransaction(Transaction):
    """Sends ``request``; gives every response to ``on_response`` (the transaction user).

    A timeout or transport failure arrives as a synthetic 408 response (RFC 3261 §8.1.3.1).
    """

    def __init__(
        self,
        request: Request,
        send: Send,
        schedule: Schedule,
        reliable: bool,
        on_response: Callable[[Response], None],
    ) -> None:
        super().__init__(request, send, schedule, reliable)
        self.on_response = on_response
        self.invite = request.method == "INVITE"
        self._interval = T1

    def start(self) -> None:
        self.state = State.CALLING if self.invite else State.TRYING
        self.send(self.request)
        if not self.reliable:
            self.timers.arm("retransmit", T1, self._retransmit)
        self.timers.arm("timeout", 64 * T1, self._timeout)

    def _retransmit(self) -> None:
        if self.state in (State.CALLING, State.TRYING, State.PROCEEDING):
            if self.invite and self.state is State.PROCEEDING:
                return  # INVITE retransmissions stop with the first provisional
            self.send(self.request)
            self._interval = self._interval * 2 if self.invite else min(self._interval * 2, T2)
            if self.state is State.PROCEEDING:
                self._interval = T2
            self.timers.arm("retransmit", self._interval, self._retransmit)

    def _timeout(self) -> None:
        if self.state in (State.CALLING, State.TRYING, State.PROCEEDING):
            self._terminate()
            self.on_response(_synthetic(self.request, 408, "Request Timeout"))

    def cancel_timeout(self) -> None:
        """An INVITE in proceeding waits for its final response as long as it takes (§17.1.1.2)."""
        self.timers.disarm("timeout")

    def receive(self, response: Response) -> None:
        status = response.status
        if self.state is State.TERMINATED:
            return
        if self.invite:
            self._receive_invite(response, status)
        else:
            self._receive_non_invite(response, status)

    def _receive_invite(self, response: Response, status: int) -> None:
        if status < 200:
            if self.state is State.CALLING:
                self.state = State.PROCEEDING
                self.timers.disarm("retransmit")
            if self.state is State.PROCEEDING:
                self.on_response(response)
        elif status < 300:
            if self.state in (State.CALLING, State.PROCEEDING):
                self.state = State.ACCEPTED
                self.timers.disarm("retransmit")
                self.timers.disarm("timeout")
                self.timers.arm("M", 64 * T1, self._terminate)
                self.on_response(response)
            elif self.state is State.ACCEPTED:
                self.on_response(response)  # a 2xx retransmission: the TU ACKs it again
        else:
            if self.state in (State.CALLING, State.PROCEEDING):
                self.state = State.COMPLETED
                self.timers.disarm("retransmit")
                self.timers.disarm("timeout")
                self.send(ack_for(self.request, response))
                self.timers.arm("D", 0 if self.reliable else 32.0, self._terminate)
                self.on_response(response)
            elif self.state is State.COMPLETED:
                self.send(ack_for(self.request, response))

    def _receive_non_invite(self, response: Response, status: int) -> None:
        if self.state not in (State.TRYING, State.PROCEEDING):
            return
        if status < 200:
            self.state = State.PROCEEDING
            self.on_response(response)
            return
        self.state = State.COMPLETED
        self.timers.disarm("retransmit")
        self.timers.disarm("timeout")
        self.timers.arm("K", 0 if self.reliable else T4, self._terminate)
        self.on_response(response)

    def transport_error(self) -> None:
        if self.state is not State.TERMINATED:
            self._terminate()
            self.on_response(_synthetic(self.request, 503, "Service Unavailable"))


def ack_for(invite: Request, response: Response) -> Request:
    """The ACK for a non-2xx final response (RFC 3261 §17.1.1.3): same branch, To with tag."""
    headers = Headers()
    headers.add("Via", invite.headers.get_all("Via")[0])
    for name in ("Route",):
        for value in invite.headers.get_all(name):
            headers.add(name, value)
    headers.add("From", invite.header("From"))
    headers.add("To", response.headers.get("To") or invite.header("To"))
    headers.add("Call-ID", invite.call_id)
    headers.add("CSeq", f"{invite.cseq[0]} ACK")
    headers.add("Max-Forwards", "70")
    return Request(headers, b"", "ACK", invite.uri)


def cancel_for(invite: Request) -> Request:
    """The CANCEL of a pending INVITE (RFC 3261 §9.1): its Request-URI, top Via (so the same
    branch), Route, From, To, Call-ID and CSeq number, with the method CANCEL."""
    headers = Headers()
    headers.add("Via", invite.headers.get_all("Via")[0])
    for route in invite.headers.get_all("Route"):
        headers.add("Route", route)
    headers.add("Max-Forwards", "70")
    headers.add("From", invite.header("From"))
    headers.add("To", invite.header("To"))
    headers.add("Call-ID", invite.call_id)
    headers.add("CSeq", f"{invite.cseq[0]} CANCEL")
    return Request(headers, b"", "CANCEL", invite.uri)


def _synthetic(request: Request, status: int, reason: str) -> Response:
    headers = Headers()
    for name in ("Via", "From", "To", "Call-ID", "CSeq"):
        value = request.headers.get(name)
        if value is not None:
            headers.add(name, value)
    return Response(headers, b"", status, reason)


# -- server ---------------------------------------------------------------------------------


class ServerTransaction(Transaction):
    """Absorbs retransmissions of ``request`` and retransmits its responses as needed."""

    def __init__(self, request: Request, send: Send, schedule: Schedule, reliable: bool) -> None:
        super().__init__(request, send, schedule, reliable)
        self.invite = request.method == "INVITE"
        self.state = State.PROCEEDING if self.invite else State.TRYING
        self.last: Response | None = None
        self.on_ack: Callable[[Request], None] | None = None
        self._interval = T1

    def respond(self, response: Response) -> None:
        """Send a response from the transaction user (ignored once terminated)."""
        if self.state in (State.TERMINATED, State.CONFIRMED, State.COMPLETED, State.ACCEPTED):
            return
        self.last = response
        self.send(response)
        status = response.status
        if status < 200:
            if not self.invite:
                self.state = State.PROCEEDING
            return
        if self.invite and status < 300:
            self.state = State.ACCEPTED  # RFC 6026: the TU retransmits the 2xx until ACKed
            self.timers.arm("L", 64 * T1, self._terminate)
        elif self.invite:
            self.state = State.COMPLETED
            if not self.reliable:
                self.timers.arm("G", T1, self._retransmit_final)
            self.timers.arm("H", 64 * T1, self._terminate)
        else:
            self.state = State.COMPLETED
            self.timers.arm("J", 0 if self.reliable else 64 * T1, self._terminate)

    def _retransmit_final(self) -> None:
        if self.state is State.COMPLETED and self.last is not None:
            self.send(self.last)
            self._interval = min(self._interval * 2, T2)
            self.timers.arm("G", self._interval, self._retransmit_final)

    def retransmission(self) -> None:
        """The request arrived again: answer it with the last response (if any)."""
        if self.last is not None and self.state in (
            State.PROCEEDING,
            State.TRYING,
            State.COMPLETED,
        ):
            self.send(self.last)

    def ack(self, ack: Request) -> None:
        """An ACK matching this INVITE transaction (non-2xx final: stop retransmitting)."""
        if self.state is State.COMPLETED and self.invite:
            self.state = State.CONFIRMED
            self.timers.disarm("G")
            self.timers.disarm("H")
            self.timers.arm("I", 0 if self.reliable else T4, self._terminate)
        elif self.state is State.ACCEPTED and self.on_ack is not None:
            self.on_ack(ack)
