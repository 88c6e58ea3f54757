"""The SIP user agent (RFC 3261 §§8, 12): routes transactions to INVITE sessions.

``UserAgent`` sits on a ``SipEndpoint`` and hands every INVITE dialog to an ``InviteSession``
(``voxrelay.sip.invite``, the usage's state machine) bound to its peer through a small link:

* UAS: a new INVITE becomes a session handed to ``on_incoming``; CANCEL, the ACK of a 2xx,
  in-dialog requests (BYE, re-INVITE, UPDATE, INFO...) and late copies of the INVITE go to
  the session they belong to. A different INVITE with the Call-ID, From tag and CSeq of a live
  one is a merged request (482, RFC 3261 §8.2.2.2); a body that is not SDP gets 415.
* UAC: ``invite()`` builds and sends an INVITE with an SDP offer and returns its session;
  2xx retransmissions after the transaction ended are ACKed again by their session.
  ``request()`` sends an out-of-dialog request (REGISTER...) and returns its final response.

Out of dialog, OPTIONS is answered 200; REGISTER goes to ``on_register`` when set; other
methods get 405 with Allow. Requests for unknown dialogs get 481. The UA never blocks and
never lets a peer's bad message escape as an exception.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable

from voxrelay.sip.dialog import dialog_key_of, new_tag
from voxrelay.sip.digest import with_credentials
from voxrelay.sip.endpoint import Peer, SipEndpoint
from voxrelay.sip.invite import ALLOW, SDP, USER_AGENT, InviteSession
from voxrelay.sip.message import Headers, NameAddr, Request, Response, SipParseError, response_to
from voxrelay.sip.transaction import ClientTransaction, ServerTransaction

log = logging.getLogger(__name__)


class _PeerLink:
    """An ``invite.Link``: the user agent as one session sees it, bound to that session's peer."""

    def __init__(self, ua: UserAgent, peer: Peer) -> None:
        self.ua, self.peer = ua, peer
        self.contact = ua.contact(peer)
        self.reliable = peer.reliable

    def via(self) -> str:
        return self.ua.endpoint.via(self.peer.transport)

    def send(self, message: Request | Response) -> None:
        self.ua.endpoint.send(message, self.peer)

    def client(
        self, request: Request, on_response: Callable[[Response], None]
    ) -> ClientTransaction:
        return self.ua.endpoint.client(request, self.peer, on_response)

    def dialog_ready(self, session: InviteSession) -> None:
        self.ua.route(session)

    def terminated(self, session: InviteSession) -> None:
        self.ua.unroute(session)


def _schedule(delay: float, fn: Callable[[], None]) -> asyncio.TimerHandle:
    return asyncio.get_running_loop().call_later(delay, fn)


class UserAgent:
    """See module docstring. Routes to the sessions; the endpoint owns the transactions."""

    def __init__(self, host: str, port: int, advertise: str | None = None) -> None:
        self.endpoint = SipEndpoint(host, port, self, advertise)
        self.sessions: set[InviteSession] = set()  # every live one
        self._dialogs: dict[tuple[str, str, str], InviteSession] = {}
        self._incoming: dict[tuple[str, str], InviteSession] = {}  # UAS, by Call-ID, From tag
        self.on_incoming: Callable[[InviteSession], None] | None = None
        self.on_register: Callable[[ServerTransaction, Request, Peer], None] | None = None
        self.credentials: Callable[[Request], tuple[str, str] | None] | None = None

    async def start(self) -> None:
        await self.endpoint.start()

    async def stop(self) -> None:
        for session in list(self.sessions):
            if session.active:
                session.hang_up()
        await asyncio.sleep(0)
        await self.endpoint.stop()

    def contact(self, peer: Peer, user: str = "voxrelay") -> str:
        return self.endpoint.contact(user, peer.transport)

    def route(self, session: InviteSession) -> None:
        """Send requests in ``session``'s dialog to it (its link calls this)."""
        if session.dialog is not None:
            self._dialogs[session.dialog.key] = session

    def unroute(self, session: InviteSession) -> None:
        """``session`` ended: forget it (its link calls this)."""
        self.sessions.discard(session)
        if session.dialog is not None and self._dialogs.get(session.dialog.key) is session:
            del self._dialogs[session.dialog.key]
        key = _incoming_key(session.invite)
        if self._incoming.get(key) is session:
            del self._incoming[key]

    def _session(self, message: Request | Response, local_is_to: bool) -> InviteSession | None:
        try:
            return self._dialogs.get(dialog_key_of(message, local_is_to))
        except SipParseError:
            return None

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
        session = self._incoming.get(_incoming_key(invite.request))
        if session is not None:
            session.receive_cancel()

    def on_ack(self, ack: Request, peer: Peer) -> None:
        session = self._session(ack, local_is_to=True)
        if session is not None:
            session.receive_ack(ack)

    def on_stray_response(self, response: Response, peer: Peer) -> None:
        """A 2xx retransmission after its transaction ended: its session ACKs it again."""
        if not 200 <= response.status < 300 or response.cseq[1] != "INVITE":
            return
        session = self._session(response, local_is_to=False)
        if session is not None:
            session.receive_2xx_again(response)

    # -- UAS ----------------------------------------------------------------------------

    def _new_invite(self, tx: ServerTransaction, request: Request, peer: Peer) -> None:
        tx.respond(response_to(request, 100))
        existing = self._incoming.get(_incoming_key(request))
        if existing is not None:
            existing.receive_invite_again(tx, request)
            return
        content_type = request.headers.get("Content-Type") or SDP
        if request.body and content_type.split(";")[0].strip().lower() != SDP:
            tx.respond(response_to(request, 415, to_tag=new_tag(), extra=[("Accept", SDP)]))
            return
        if not request.headers.get("Contact"):
            tx.respond(response_to(request, 400, "Missing Contact", to_tag=new_tag()))
            return
        session = InviteSession.uas(tx, _PeerLink(self, peer), _schedule, new_tag())
        self.sessions.add(session)
        self._incoming[_incoming_key(request)] = session
        if self.on_incoming is None:
            session.reject(480)
            return
        self.on_incoming(session)

    def _in_dialog(self, tx: ServerTransaction, request: Request, peer: Peer) -> None:
        session = self._session(request, local_is_to=True)
        if session is None:
            tx.respond(response_to(request, 481))
            return
        session.receive_request(tx, request)

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
    ) -> InviteSession:
        """Send an INVITE to ``target`` (a SIP URI) via ``host:port`` with our offer ``sdp``;
        returns its session (set its callbacks at once). Raises OSError when a TCP connection
        cannot be opened."""
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
        credentials = self.credentials(request) if self.credentials else None
        session = InviteSession.uac(request, _PeerLink(self, peer), _schedule, credentials)
        self.sessions.add(session)
        session.start()
        return session

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
            retry = with_credentials(request, response, credentials, self.endpoint.via(transport))
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


def _incoming_key(invite: Request) -> tuple[str, str]:
    return invite.call_id, NameAddr.parse(invite.header("From")).tag
