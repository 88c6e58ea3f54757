"""The SIP user agent core (RFC 3261 §§8, 12-15): INVITE dialogs from either side.

``UserAgent`` sits on a ``SipEndpoint`` and turns transactions into ``SipCall`` objects:

* UAS: an INVITE becomes a ``SipCall`` handed to ``on_incoming``; the application rings it
  (180), answers it (200 with SDP, retransmitted until the ACK, RFC 3261 §13.3.1.4) or
  rejects it; CANCEL before the answer gives 487; BYE from either side ends it; re-INVITEs
  (hold, resume, session refresh) are answered with our SDP through ``on_reinvite``.
* UAC: ``invite()`` sends an INVITE with an SDP offer, reports 1xx (with early media SDP)
  and the answer, ACKs every 2xx, retries once with credentials on 401/407 (RFC 3261 §22.2,
  the strongest digest challenge we support), and can CANCEL once any provisional came.
  ``request()`` sends an out-of-dialog request (REGISTER...) the same way and returns its
  final response.

Out of dialog, OPTIONS is answered 200; REGISTER goes to ``on_register`` when set; other
methods get 405 with Allow. Requests for unknown dialogs get 481. The UA never blocks and
never lets a peer's bad message escape as an exception.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from voxrelay.sip.dialog import Dialog, dialog_key_of, new_tag
from voxrelay.sip.digest import DigestError, authorization
from voxrelay.sip.endpoint import Peer, SipEndpoint
from voxrelay.sip.message import (
    Headers,
    NameAddr,
    Request,
    Response,
    SipParseError,
    response_to,
)
from voxrelay.sip.transaction import T1, T2, ClientTransaction, ServerTransaction

log = logging.getLogger(__name__)
ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO, UPDATE"
SDP = "application/sdp"
USER_AGENT = "voxrelay"


class CallState(StrEnum):
    INCOMING = "incoming"
    CALLING = "calling"
    EARLY = "early"  # provisional received/sent
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


@dataclass
class SipCall:
    """One INVITE dialog usage, from the UAS or the UAC side."""

    ua: UserAgent
    role: str  # "uas" or "uac"
    invite: Request
    peer: Peer
    local_tag: str
    state: CallState
    dialog: Dialog | None = None
    remote_sdp: bytes = b""
    end_status: int | None = None  # a failure status (UAC) or what we rejected with (UAS)
    ended_by: str = ""  # "local" or "remote"
    on_progress: Callable[[SipCall, Response], None] | None = None  # UAC 1xx
    on_answered: Callable[[SipCall], None] | None = None
    on_ended: Callable[[SipCall], None] | None = None
    on_reinvite: Callable[[SipCall, bytes], bytes | None] | None = None  # -> our SDP or None
    server_tx: ServerTransaction | None = None
    client_tx: ClientTransaction | None = None
    local_sdp: bytes = b""
    extra: dict[str, Any] = field(default_factory=dict)
    headers: list[tuple[str, str]] = field(default_factory=list)  # UAS: on every response
    response: Response | None = None  # UAC: the latest response to our INVITE
    _retransmit: asyncio.TimerHandle | None = None
    _ok: Response | None = None
    _cancel_wanted: bool = False
    _auth_tried: bool = False

    @property
    def call_id(self) -> str:
        return self.invite.call_id

    @property
    def from_user(self) -> str:
        return _user(NameAddr.parse(self.invite.header("From")).uri)

    @property
    def to_user(self) -> str:
        return _user(NameAddr.parse(self.invite.header("To")).uri)

    @property
    def request_user(self) -> str:
        return _user(self.invite.uri)

    # -- UAS ----------------------------------------------------------------------------

    def ring(self, sdp: bytes = b"") -> None:
        """180 Ringing (183 Session Progress with early media when ``sdp`` is given)."""
        if self.role != "uas" or self.state not in (CallState.INCOMING, CallState.EARLY):
            return
        assert self.server_tx is not None
        status = 183 if sdp else 180
        extra = [("Contact", self.ua.contact(self.peer)), *self.headers]
        if sdp:
            extra.append(("Content-Type", SDP))
        self.server_tx.respond(
            response_to(self.invite, status, to_tag=self.local_tag, body=sdp, extra=extra)
        )
        self.state = CallState.EARLY

    def answer(self, sdp: bytes) -> None:
        """200 OK with our SDP answer; retransmitted until the ACK comes."""
        if self.role != "uas" or self.state not in (CallState.INCOMING, CallState.EARLY):
            return
        assert self.server_tx is not None
        self.local_sdp = sdp
        self.dialog = Dialog.as_uas(self.invite, self.local_tag)
        self.ua.dialogs[self.dialog.key] = self
        ok = response_to(
            self.invite,
            200,
            to_tag=self.local_tag,
            body=sdp,
            extra=[
                ("Contact", self.ua.contact(self.peer)),
                ("Content-Type", SDP),
                ("Allow", ALLOW),
                ("Server", USER_AGENT),
                *self.headers,
            ],
        )
        self._ok = ok
        self.server_tx.respond(ok)
        self.state = CallState.CONFIRMED
        if not self.peer.reliable:
            self._schedule_ok(T1, 0.0)
        else:
            self._schedule_ok(64 * T1, 64 * T1)

    def _schedule_ok(self, interval: float, elapsed: float) -> None:
        loop = asyncio.get_running_loop()
        self._retransmit = loop.call_later(interval, self._resend_ok, interval, elapsed + interval)

    def _resend_ok(self, interval: float, elapsed: float) -> None:
        if self._ok is None:
            return
        if elapsed >= 64 * T1:  # no ACK: give up on the call (RFC 3261 §13.3.1.4)
            log.info("no ACK for the 200 OK of %s; hanging up", self.call_id)
            self._ok = None
            self.hang_up()
            return
        if not self.peer.reliable:
            self.ua.endpoint.send(self._ok, self.peer)
        self._schedule_ok(min(interval * 2, T2), elapsed)

    def acked(self) -> None:
        self._ok = None
        if self._retransmit is not None:
            self._retransmit.cancel()
        if self.dialog is not None:
            self.dialog.confirmed = True

    def reject(
        self, status: int, reason: str | None = None, extra: list[tuple[str, str]] | None = None
    ) -> None:
        """A final failure response (486 Busy, 603 Decline, 480, 487, 401 with ``extra``
        WWW-Authenticate challenges...) before answering."""
        if self.role != "uas" or self.state not in (CallState.INCOMING, CallState.EARLY):
            return
        assert self.server_tx is not None
        self.server_tx.respond(
            response_to(
                self.invite,
                status,
                reason,
                to_tag=self.local_tag,
                extra=[*self.headers, *(extra or [])],
            )
        )
        self.end_status = status
        self._ended("local")

    # -- both ---------------------------------------------------------------------------

    def hang_up(self) -> None:
        """End the call from our side: BYE if confirmed, CANCEL (UAC) or 480 (UAS) before."""
        if self.state is CallState.TERMINATED:
            return
        if self.state is CallState.CONFIRMED and self.dialog is not None:
            self.acked()
            self.ua.send_in_dialog(self, "BYE")
            self._ended("local")
        elif self.role == "uas":
            self.reject(480, "Temporarily Unavailable")
        else:
            self.cancel()

    def cancel(self) -> None:
        """UAC: CANCEL the INVITE (at once if a provisional came, else when the first one
        does; RFC 3261 §9.1)."""
        if self.role != "uac" or self.state not in (CallState.CALLING, CallState.EARLY):
            return
        if self.state is CallState.CALLING:
            self._cancel_wanted = True
            return
        self.ua.send_cancel(self)

    def _ended(self, by: str) -> None:
        if self.state is CallState.TERMINATED:
            return
        self.state = CallState.TERMINATED
        self.ended_by = by
        if self._retransmit is not None:
            self._retransmit.cancel()
        if self.dialog is not None:
            self.ua.dialogs.pop(self.dialog.key, None)
        self.ua.pending.pop(self.call_id, None)
        if self.on_ended is not None:
            self.on_ended(self)


def _user(uri: str) -> str:
    _scheme, _, rest = uri.partition(":")
    rest = rest.split(";", 1)[0]
    user, at, _ = rest.partition("@")
    return user if at else ""


class UserAgent:
    """See module docstring. Owns the dialogs; the endpoint owns the transactions."""

    def __init__(self, host: str, port: int, advertise: str | None = None) -> None:
        self.endpoint = SipEndpoint(host, port, self, advertise)
        self.dialogs: dict[tuple[str, str, str], SipCall] = {}
        self.pending: dict[str, SipCall] = {}  # by Call-ID, UAS calls not yet answered
        self.on_incoming: Callable[[SipCall], None] | None = None
        self.on_register: Callable[[ServerTransaction, Request, Peer], None] | None = None
        self.credentials: Callable[[Request], tuple[str, str] | None] | None = None

    async def start(self) -> None:
        await self.endpoint.start()

    async def stop(self) -> None:
        for call in list(self.dialogs.values()) + list(self.pending.values()):
            call.hang_up()
        await asyncio.sleep(0)
        await self.endpoint.stop()

    def contact(self, peer: Peer, user: str = "voxrelay") -> str:
        return self.endpoint.contact(user, peer.transport)

    # -- Handler (from the endpoint) ------------------------------------------------------

    def on_request(self, tx: ServerTransaction, request: Request, peer: Peer) -> None:
        to_tag = NameAddr.parse(request.header("To")).tag
        if to_tag:
            self._in_dialog(tx, request, peer)
        elif request.method == "INVITE":
            self._new_invite(tx, request, peer)
        elif request.method == "OPTIONS":
            tx.respond(
                response_to(
                    request,
                    200,
                    to_tag=new_tag(),
                    extra=[("Allow", ALLOW), ("Accept", SDP), ("Server", USER_AGENT)],
                )
            )
        elif request.method == "REGISTER" and self.on_register is not None:
            self.on_register(tx, request, peer)
        elif request.method in ("BYE", "INFO", "UPDATE"):
            tx.respond(response_to(request, 481, to_tag=new_tag()))
        else:  # a To tag on every final response out of a dialog (RFC 3261 §8.2.6.2)
            tx.respond(response_to(request, 405, to_tag=new_tag(), extra=[("Allow", ALLOW)]))

    def on_cancel(self, invite: ServerTransaction, cancel: Request, peer: Peer) -> None:
        call = self.pending.get(invite.request.call_id)
        if call is None or call.state not in (CallState.INCOMING, CallState.EARLY):
            return
        invite.respond(response_to(invite.request, 487, to_tag=call.local_tag, extra=call.headers))
        call.end_status = 487
        call._ended("remote")

    def on_ack(self, ack: Request, peer: Peer) -> None:
        try:
            call = self.dialogs.get(dialog_key_of(ack, local_is_to=True))
        except SipParseError:
            return
        if call is not None:
            call.acked()

    def on_stray_response(self, response: Response, peer: Peer) -> None:
        """A 2xx retransmission after its transaction ended: ACK it again."""
        if not 200 <= response.status < 300 or response.cseq[1] != "INVITE":
            return
        call = self.dialogs.get(dialog_key_of(response, local_is_to=False))
        if call is not None and call.dialog is not None:
            self._ack_2xx(call, response)

    # -- UAS ----------------------------------------------------------------------------

    def _new_invite(self, tx: ServerTransaction, request: Request, peer: Peer) -> None:
        tx.respond(response_to(request, 100))
        if request.call_id in self.pending:  # a forked/looped copy of a call we have
            tx.respond(response_to(request, 482, to_tag=new_tag()))
            return
        content_type = request.headers.get("Content-Type") or SDP
        if request.body and content_type.split(";")[0].strip().lower() != SDP:
            tx.respond(response_to(request, 415, to_tag=new_tag(), extra=[("Accept", SDP)]))
            return
        call = SipCall(
            self,
            "uas",
            request,
            peer,
            new_tag(),
            CallState.INCOMING,
            remote_sdp=request.body,
            server_tx=tx,
        )
        self.pending[request.call_id] = call
        if self.on_incoming is None:
            call.reject(480)
            return
        self.on_incoming(call)

    def _in_dialog(self, tx: ServerTransaction, request: Request, peer: Peer) -> None:
        call = self.dialogs.get(dialog_key_of(request, local_is_to=True))
        if call is None or call.dialog is None:
            tx.respond(response_to(request, 481))
            return
        if not call.dialog.check_remote_cseq(request):
            tx.respond(response_to(request, 500, "Out of order CSeq"))
            return
        if request.method == "BYE":
            tx.respond(response_to(request, 200))
            call.acked()
            call._ended("remote")
        elif request.method in ("INVITE", "UPDATE"):
            self._reinvite(call, tx, request)
        elif request.method in ("INFO", "OPTIONS", "NOTIFY"):
            tx.respond(response_to(request, 200))
        else:
            tx.respond(response_to(request, 405, extra=[("Allow", ALLOW)]))

    def _reinvite(self, call: SipCall, tx: ServerTransaction, request: Request) -> None:
        sdp = call.local_sdp
        if request.body and call.on_reinvite is not None:
            answer = call.on_reinvite(call, request.body)
            if answer is None:
                tx.respond(response_to(request, 488))
                return
            sdp = answer
            call.remote_sdp = request.body
        call.local_sdp = sdp
        if request.method == "INVITE":
            tx.respond(
                response_to(
                    request,
                    200,
                    body=sdp,
                    extra=[("Contact", self.contact(call.peer)), ("Content-Type", SDP)],
                )
            )
        else:
            tx.respond(
                response_to(
                    request,
                    200,
                    body=sdp if request.body else b"",
                    extra=[("Content-Type", SDP)] if request.body else [],
                )
            )

    # -- UAC ----------------------------------------------------------------------------

    async def invite(
        self,
        target: str,
        *,
        from_uri: str,
        to_uri: str,
        sdp: bytes,
        host: str,
        port: int,
        transport: str = "UDP",
        from_name: str = "",
        headers: list[tuple[str, str]] | None = None,
    ) -> SipCall:
        """Send an INVITE to ``target`` (a SIP URI) via ``host:port``; returns the call."""
        peer = await self.endpoint.connect(host, port, transport)
        h = Headers()
        h.add("Via", self.endpoint.via(transport))
        h.add("Max-Forwards", "70")
        display = f'"{from_name}" ' if from_name else ""
        tag = new_tag()
        h.add("From", f"{display}<{from_uri}>;tag={tag}")
        h.add("To", f"<{to_uri}>")
        h.add("Call-ID", f"{secrets.token_hex(12)}@{self.endpoint.advertise}")
        h.add("CSeq", f"{secrets.randbelow(10000) + 1} INVITE")
        h.add("Contact", self.contact(peer))
        h.add("Allow", ALLOW)
        h.add("User-Agent", USER_AGENT)
        h.add("Content-Type", SDP)
        for name, value in headers or []:
            h.add(name, value)
        request = Request(h, sdp, "INVITE", target)
        call = SipCall(self, "uac", request, peer, tag, CallState.CALLING, local_sdp=sdp)
        self._send_invite(call)
        return call

    def _send_invite(self, call: SipCall) -> None:
        call.client_tx = self.endpoint.client(
            call.invite, call.peer, lambda r: self._uac_response(call, r)
        )

    def _uac_response(self, call: SipCall, response: Response) -> None:
        status = response.status
        call.response = response
        if status < 200:
            if call.state is CallState.CALLING:  # any provisional lets us CANCEL (§9.1)
                call.state = CallState.EARLY
                if call._cancel_wanted:
                    self.send_cancel(call)
            if call.client_tx is not None:
                call.client_tx.cancel_timeout()
            if status > 100 and call.on_progress is not None:
                call.on_progress(call, response)
        elif status < 300:
            self._uac_answered(call, response)
        elif (
            status in (401, 407) and not call._auth_tried and self._retry_with_auth(call, response)
        ):
            return
        else:
            if call.state is not CallState.TERMINATED:
                call.end_status = status
                call._ended("remote")

    def _uac_answered(self, call: SipCall, response: Response) -> None:
        if call.dialog is None:
            call.dialog = Dialog.as_uac(call.invite, response)
            self.dialogs[call.dialog.key] = call
        self._ack_2xx(call, response)
        if call.state in (CallState.CALLING, CallState.EARLY):
            call.remote_sdp = response.body
            call.state = CallState.CONFIRMED
            call.dialog.confirmed = True
            if call._cancel_wanted:
                call.hang_up()
            elif call.on_answered is not None:
                call.on_answered(call)

    def _ack_2xx(self, call: SipCall, response: Response) -> None:
        assert call.dialog is not None
        ack = call.dialog.request(
            "ACK",
            self.endpoint.via(call.peer.transport),
            self.contact(call.peer),
            cseq=call.invite.cseq[0],
        )
        self.endpoint.send(ack, call.peer)

    def _retry_with_auth(self, call: SipCall, response: Response) -> bool:
        creds = self.credentials(call.invite) if self.credentials else None
        retry = self._authorized(call.invite, response, creds, call.peer)
        if retry is None:
            return False
        call._auth_tried = True
        call.invite = retry
        self._send_invite(call)
        return True

    def _authorized(
        self, request: Request, challenge: Response, creds: tuple[str, str] | None, peer: Peer
    ) -> Request | None:
        """``request`` again with credentials answering a 401/407 (RFC 3261 §22.2): a new
        branch, CSeq + 1. None without credentials or a Digest challenge we can answer."""
        header = "WWW-Authenticate" if challenge.status == 401 else "Proxy-Authenticate"
        challenges = challenge.headers.get_all(header)
        if creds is None or not challenges:
            return None
        try:
            value = authorization(challenges, request.method, request.uri, creds[0], creds[1])
        except DigestError:
            return None
        h = request.headers.copy()
        h.set("Via", self.endpoint.via(peer.transport))
        number, method = request.cseq
        h.set("CSeq", f"{number + 1} {method}")
        h.set("Authorization" if challenge.status == 401 else "Proxy-Authorization", value)
        return Request(h, request.body, request.method, request.uri)

    async def request(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        *,
        host: str,
        port: int,
        transport: str = "UDP",
        body: bytes = b"",
        credentials: tuple[str, str] | None = None,
    ) -> Response:
        """Send an out-of-dialog ``method`` request to ``target`` via ``host:port`` and return
        its final response, answering one 401/407 with ``credentials`` (username, password).

        ``headers`` must hold From (with a tag), To, Call-ID and CSeq; Via, Max-Forwards and
        User-Agent are added. No answer within 64*T1 gives a 408 (RFC 3261 §17.1.2.2).
        Raises OSError when a TCP connection cannot be opened.
        """
        peer = await self.endpoint.connect(host, port, transport)
        h = Headers()
        h.add("Via", self.endpoint.via(transport))
        h.add("Max-Forwards", "70")
        for name, value in headers:
            h.add(name, value)
        h.add("User-Agent", USER_AGENT)
        request = Request(h, body, method, target)
        response = await self._final_response(request, peer)
        if response.status in (401, 407):
            retry = self._authorized(request, response, credentials, peer)
            if retry is not None:
                response = await self._final_response(retry, peer)
        return response

    async def _final_response(self, request: Request, peer: Peer) -> Response:
        final: asyncio.Future[Response] = asyncio.get_running_loop().create_future()

        def got(response: Response) -> None:
            if response.status >= 200 and not final.done():
                final.set_result(response)

        self.endpoint.client(request, peer, got)
        return await final

    def send_cancel(self, call: SipCall) -> None:
        invite = call.invite
        h = Headers()
        h.add("Via", invite.headers.get_all("Via")[0])
        for route in invite.headers.get_all("Route"):
            h.add("Route", route)
        h.add("Max-Forwards", "70")
        h.add("From", invite.header("From"))
        h.add("To", invite.header("To"))
        h.add("Call-ID", invite.call_id)
        h.add("CSeq", f"{invite.cseq[0]} CANCEL")
        cancel = Request(h, b"", "CANCEL", invite.uri)
        self.endpoint.client(cancel, call.peer, lambda r: None)

    def send_in_dialog(self, call: SipCall, method: str, body: bytes = b"") -> None:
        """Send BYE (or another request) in ``call``'s dialog, to its remote target."""
        assert call.dialog is not None
        request = call.dialog.request(
            method,
            self.endpoint.via(call.peer.transport),
            self.contact(call.peer),
            body,
            SDP if body else None,
        )
        self.endpoint.client(request, call.peer, lambda r: None)
