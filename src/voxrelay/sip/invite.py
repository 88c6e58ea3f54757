"""The INVITE session usage (RFC 3261 §§13-15, RFC 6026): one call, from either side. Sans-I/O.

pjsip's ``sip_inv`` for voxrelay: an explicit machine over the transaction layer. It sends
through a ``Link`` (the user agent beneath it, bound to one peer) and arms timers through an
injected ``schedule``, so tests drive it by plain calls on a fake clock. Its states::

    UAC   CALLING --1xx--> EARLY --2xx (ACKed)--> CONFIRMED
          CALLING/EARLY --401/407, retried with credentials--> CALLING
          CALLING/EARLY --cancel()--> CANCELLING --final--> TERMINATED
                        (the CANCEL waits for a provisional, §9.1; a 2xx crossing it: ACK, BYE)
    UAS   INCOMING --ring()--> EARLY --answer()--> CONNECTING --ACK--> CONFIRMED
          (the 2xx is retransmitted until the ACK, §13.3.1.4; none in 64*T1: BYE)
          INCOMING/EARLY --reject() or CANCEL (487)--> TERMINATED
          CONNECTING --hang_up()--> TERMINATING --ACK--> TERMINATED (BYE only after the ACK, §15)
    both  CONFIRMED --modify(sdp)--> REINVITING --2xx (ACKed)--> CONFIRMED
          REINVITING --491--> GLARE --the §14.1 wait--> REINVITING (once)
          CONFIRMED/GLARE --re-INVITE answered 2xx--> REINVITED --ACK--> CONFIRMED
          any of these --hang_up() (BYE) or BYE--> TERMINATED

``TRANSITIONS`` is the whole table: (role, state, event) -> (next state, action). A method
called in a state the table has no row for raises ``InviteStateError``; a peer's message
that does not fit is answered as the RFC says (491 for a re-INVITE while ours is pending,
500 with Retry-After while an INVITE is in progress, 488 for an offer we cannot answer) or
absorbed (INVITE and 2xx retransmissions, a CANCEL after the final response).

The application sets callbacks: ``on_progress(session, response)`` (UAC 1xx above 100),
``on_answered(session)``, ``on_ended(session)``, ``on_reinvite(session, offer) -> answer``
(the peer's re-INVITE or UPDATE offer; None or ``SdpError`` refuses it with 488) and
``on_modified(session, response)`` (the final response to our ``modify``). SDP bodies are
opaque bytes here: ``voxrelay.sip.offeranswer`` makes and reads them.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from enum import StrEnum
from typing import Protocol

from voxrelay.sip.dialog import Dialog, new_tag
from voxrelay.sip.digest import with_credentials
from voxrelay.sip.message import NameAddr, Request, Response, Via, response_to
from voxrelay.sip.sdp import SdpError
from voxrelay.sip.transaction import (
    T1,
    T2,
    ClientTransaction,
    Schedule,
    ServerTransaction,
    Timers,
    cancel_for,
)

log = logging.getLogger(__name__)
ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO, UPDATE"
SDP = "application/sdp"
USER_AGENT = "voxrelay"
RETRY_AFTER = "1"  # seconds, on a 500 to an INVITE that overlaps another (RFC 3261 §14.2)


class InviteStateError(Exception):
    """A method of ``InviteSession`` called in a state that does not allow it (answering a
    call that is already answered, modifying one that is not confirmed...)."""


class Role(StrEnum):
    UAC = "uac"
    UAS = "uas"


class InviteState(StrEnum):
    """The session's state (pjsip's ``pjsip_inv_state``, plus the re-INVITE ones)."""

    CALLING = "calling"  # UAC: INVITE sent, no provisional yet
    INCOMING = "incoming"  # UAS: INVITE received, nothing but 100 sent
    EARLY = "early"  # a provisional sent (UAS) or received (UAC)
    CANCELLING = "cancelling"  # UAC: cancelled, waiting for the INVITE's final response
    CONNECTING = "connecting"  # UAS: 2xx sent, waiting for its ACK
    TERMINATING = "terminating"  # UAS: hung up in CONNECTING; BYE once the ACK comes
    CONFIRMED = "confirmed"
    REINVITING = "reinviting"  # our re-INVITE is pending
    GLARE = "glare"  # our re-INVITE got 491; waiting to send it again (§14.1)
    REINVITED = "reinvited"  # we answered the peer's re-INVITE with 2xx; waiting for its ACK
    TERMINATED = "terminated"


class Event(StrEnum):
    # from the application
    RING = "ring"
    ANSWER = "answer"
    REJECT = "reject"
    CANCEL = "cancel"
    HANG_UP = "hang_up"
    MODIFY = "modify"
    # from the peer, or a timer
    PROVISIONAL = "provisional"
    ANSWERED = "answered"  # a 2xx to our INVITE
    CHALLENGED = "challenged"  # a 401/407 we answer with credentials
    FAILED = "failed"  # a final failure to our INVITE
    CANCEL_TIMEOUT = "cancel_timeout"
    CANCELLED = "cancelled"  # the peer's CANCEL
    ACKED = "acked"
    ACK_TIMEOUT = "ack_timeout"
    BYE = "bye"
    OFFER = "offer"  # the peer's re-INVITE, answered 2xx
    OFFER_REFUSED = "offer_refused"  # ... answered 488
    MODIFIED = "modified"  # a 2xx to our re-INVITE
    MODIFY_FAILED = "modify_failed"  # a failure to it: the session stays as it was
    MODIFY_FATAL = "modify_fatal"  # 408/481 to it: the dialog is gone (§14.1)
    GLARED = "glared"  # 491 to it
    RETRY = "retry"


S = InviteState
E = Event
UAC, UAS, BOTH = (Role.UAC,), (Role.UAS,), (Role.UAC, Role.UAS)
IN_DIALOG = (S.CONFIRMED, S.REINVITING, S.GLARE, S.REINVITED)
_ROWS: list[tuple[tuple[Role, ...], tuple[S, ...], E, S, str | None]] = [
    # roles, from states, event, to state, action (a method of InviteSession)
    (UAC, (S.CALLING, S.EARLY), E.PROVISIONAL, S.EARLY, "_progress"),
    (UAC, (S.CANCELLING,), E.PROVISIONAL, S.CANCELLING, "_send_cancel"),
    (UAC, (S.CALLING, S.EARLY), E.ANSWERED, S.CONFIRMED, "_answered"),
    (UAC, (S.CANCELLING,), E.ANSWERED, S.TERMINATED, "_send_bye"),
    (UAC, (S.CALLING, S.EARLY), E.CHALLENGED, S.CALLING, "_send_invite"),
    (UAC, (S.CALLING, S.EARLY), E.FAILED, S.TERMINATED, "_failed"),
    (UAC, (S.CANCELLING,), E.FAILED, S.TERMINATED, "_failed"),
    (UAC, (S.CALLING,), E.CANCEL, S.CANCELLING, "_cancel_on_provisional"),
    (UAC, (S.EARLY,), E.CANCEL, S.CANCELLING, "_send_cancel"),
    (UAC, (S.CANCELLING,), E.CANCEL_TIMEOUT, S.TERMINATED, "_cancel_timed_out"),
    (UAS, (S.INCOMING, S.EARLY), E.RING, S.EARLY, "_send_provisional"),
    (UAS, (S.INCOMING, S.EARLY), E.ANSWER, S.CONNECTING, "_send_answer"),
    (UAS, (S.INCOMING, S.EARLY), E.REJECT, S.TERMINATED, "_send_reject"),
    (UAS, (S.INCOMING, S.EARLY), E.CANCELLED, S.TERMINATED, "_send_487"),
    (UAS, (S.CONNECTING,), E.ACKED, S.CONFIRMED, None),
    (UAS, (S.TERMINATING,), E.ACKED, S.TERMINATED, "_send_bye"),
    (UAS, (S.CONNECTING, S.TERMINATING), E.ACK_TIMEOUT, S.TERMINATED, "_send_bye"),
    (UAS, (S.CONNECTING,), E.HANG_UP, S.TERMINATING, "_hung_up_before_ack"),
    (UAS, (S.CONNECTING, S.TERMINATING), E.BYE, S.TERMINATED, "_bye_received"),
    (BOTH, IN_DIALOG, E.HANG_UP, S.TERMINATED, "_send_bye"),
    (BOTH, IN_DIALOG, E.BYE, S.TERMINATED, "_bye_received"),
    (BOTH, (S.CONFIRMED,), E.MODIFY, S.REINVITING, "_send_reinvite"),
    (BOTH, (S.REINVITING,), E.MODIFIED, S.CONFIRMED, "_modified"),
    (BOTH, (S.REINVITING,), E.MODIFY_FAILED, S.CONFIRMED, "_modify_failed"),
    (BOTH, (S.REINVITING,), E.MODIFY_FATAL, S.TERMINATED, "_dialog_lost"),
    (BOTH, (S.REINVITING,), E.GLARED, S.GLARE, "_wait_after_glare"),
    (BOTH, (S.GLARE,), E.RETRY, S.REINVITING, "_send_reinvite_again"),
    (BOTH, (S.CONFIRMED,), E.OFFER, S.REINVITED, "_send_offer_answer"),
    (BOTH, (S.GLARE,), E.OFFER, S.REINVITED, "_send_offer_answer_after_glare"),
    (BOTH, (S.CONFIRMED,), E.OFFER_REFUSED, S.CONFIRMED, None),
    (BOTH, (S.GLARE,), E.OFFER_REFUSED, S.GLARE, None),
    (BOTH, (S.REINVITED,), E.ACKED, S.CONFIRMED, None),
    (BOTH, (S.REINVITED,), E.ACK_TIMEOUT, S.TERMINATED, "_send_bye"),
]
TRANSITIONS: dict[tuple[Role, InviteState, Event], tuple[InviteState, str | None]] = {
    (role, state, event): (target, action)
    for roles, states, event, target, action in _ROWS
    for role in roles
    for state in states
}
# A peer's INVITE in a state that cannot take its offer (RFC 3261 §14.2).
BUSY_STATUS = {S.REINVITING: 491, S.REINVITED: 500, S.CONNECTING: 500, S.TERMINATING: 500}


class Link(Protocol):
    """What a session needs from the user agent beneath it, bound to the session's peer."""

    contact: str  # our Contact (a name-addr) for this peer
    reliable: bool  # TCP: no retransmissions of our own

    def via(self) -> str:
        """A Via for a new request from us (a fresh branch)."""
        ...

    def send(self, message: Request | Response) -> None:
        """Send outside any transaction (an ACK for a 2xx, a 2xx retransmission)."""
        ...

    def client(
        self, request: Request, on_response: Callable[[Response], None]
    ) -> ClientTransaction:
        """Start a client transaction for ``request``."""
        ...

    def dialog_ready(self, session: InviteSession) -> None:
        """From now on in-dialog requests (``session.dialog.key``) go to ``session``."""
        ...

    def terminated(self, session: InviteSession) -> None:
        """The session ended: route nothing more to it."""
        ...


def glare_delay(owner: bool, draw: Callable[[int], int] = secrets.randbelow) -> float:
    """Seconds to wait before sending a re-INVITE again after a 491 (RFC 3261 §14.1): 2.1 to
    4 s for the owner of the Call-ID (who sent the dialog's first INVITE), else 0 to 2 s, in
    units of 10 ms."""
    return (210 + draw(191)) / 100 if owner else draw(201) / 100


class InviteSession:
    """One INVITE dialog usage. Build with ``uac()`` (then ``start()``) or ``uas()``."""

    def __init__(
        self,
        role: Role,
        invite: Request,
        link: Link,
        schedule: Schedule,
        local_tag: str,
        server_tx: ServerTransaction | None = None,
        credentials: tuple[str, str] | None = None,
    ) -> None:
        self.role = role
        self.invite = invite  # our INVITE (UAC; the retry with credentials once sent) or theirs
        self.link = link
        self.local_tag = local_tag
        self.state = S.INCOMING if role is Role.UAS else S.CALLING
        self.dialog: Dialog | None = None
        self.remote_sdp = invite.body if role is Role.UAS else b""
        self.local_sdp = b"" if role is Role.UAS else invite.body
        self.end_status: int | None = None  # a failure status (UAC) or what we rejected with
        self.ended_by = ""  # "local" or "remote"
        self.response: Response | None = None  # UAC: the latest response to our INVITE
        self.headers: list[tuple[str, str]] = []  # UAS: added to every response to the INVITE
        self.on_progress: Callable[[InviteSession, Response], None] | None = None
        self.on_answered: Callable[[InviteSession], None] | None = None
        self.on_ended: Callable[[InviteSession], None] | None = None
        self.on_reinvite: Callable[[InviteSession, bytes], bytes | None] | None = None
        self.on_modified: Callable[[InviteSession, Response], None] | None = None
        self._timers = Timers(schedule)
        self._server_tx = server_tx
        self._credentials = credentials
        self._invite_tx: ClientTransaction | None = None
        self._cancel_tx: ClientTransaction | None = None
        self._answer: Response | None = None  # UAS: our 2xx to the INVITE
        self._ok: Response | None = None  # UAS: the 2xx retransmitted until its ACK
        self._interval = T1
        self._ack: Request | None = None  # UAC: our ACK of the latest 2xx, for its copies
        self._offer = b""  # our pending re-INVITE's offer
        self._glared: Response | None = None  # the 491 our re-INVITE got, while we wait

    @classmethod
    def uac(
        cls,
        invite: Request,
        link: Link,
        schedule: Schedule,
        credentials: tuple[str, str] | None = None,
    ) -> InviteSession:
        """Our call: ``invite`` (From with our tag, the SDP offer as body); ``start()`` sends
        it. ``credentials`` (username, password) answer one 401/407 (RFC 3261 §22.2)."""
        tag = NameAddr.parse(invite.header("From")).tag
        return cls(Role.UAC, invite, link, schedule, tag, credentials=credentials)

    @classmethod
    def uas(cls, tx: ServerTransaction, link: Link, schedule: Schedule, tag: str) -> InviteSession:
        """The peer's call: the INVITE of ``tx``; we answer with To tag ``tag``."""
        return cls(Role.UAS, tx.request, link, schedule, tag, server_tx=tx)

    # -- what the application reads -----------------------------------------------------

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

    @property
    def active(self) -> bool:
        """False once the call is ending or ended (``hang_up`` would raise)."""
        return self.state not in (S.CANCELLING, S.TERMINATING, S.TERMINATED)

    def allows(self, event: Event) -> bool:
        """Whether the table has a row for ``event`` now: ``allows(Event.ANSWER)`` asks
        whether the call can still be answered, ``allows(Event.MODIFY)`` whether a
        re-INVITE may go."""
        return (self.role, self.state, event) in TRANSITIONS

    # -- the machine ----------------------------------------------------------------------

    def _fire(self, event: Event, *args: object) -> None:
        """Take the table's row for ``event``: the new state, then its action, then
        ``on_ended`` when the session terminated. InviteStateError when there is no row."""
        row = TRANSITIONS.get((self.role, self.state, event))
        if row is None:
            raise InviteStateError(f"{self.role} cannot {event.value} in state {self.state}")
        target, action = row
        self.state = target
        if action is not None:
            getattr(self, action)(*args)
        if target is S.TERMINATED:
            self._finish()

    def _finish(self) -> None:
        self._timers.clear()
        self.ended_by = self.ended_by or "local"
        self.link.terminated(self)
        if self.on_ended is not None:
            self.on_ended(self)

    # -- UAC --------------------------------------------------------------------------------

    def start(self) -> None:
        """Send the INVITE (UAC, once)."""
        if self.role is not Role.UAC or self._invite_tx is not None:
            raise InviteStateError("start() sends a UAC's INVITE, once")
        self._send_invite(self.invite)

    def cancel(self) -> None:
        """CANCEL our INVITE (RFC 3261 §9.1): at once if a provisional came, else when the
        first one does. A 2xx crossing the CANCEL is ACKed and ended with BYE (§15)."""
        self._fire(E.CANCEL)

    def _send_invite(self, invite: Request) -> None:
        self.invite = invite
        self._invite_tx = self.link.client(invite, self._invite_response)

    def _invite_response(self, response: Response) -> None:
        status = response.status
        self.response = response
        if status < 200:
            if self.allows(E.PROVISIONAL):
                self._fire(E.PROVISIONAL, response)
        elif status < 300:
            self._got_2xx(response)
        else:
            retry = self._retry_for(response)
            if retry is not None and self.allows(E.CHALLENGED):
                self._fire(E.CHALLENGED, retry)
            elif self.allows(E.FAILED):
                self._fire(E.FAILED, response)

    def _retry_for(self, response: Response) -> Request | None:
        """Our INVITE with credentials for a 401/407, once (None: no retry)."""
        if response.status not in (401, 407):
            return None
        headers = self.invite.headers
        if headers.get("Authorization") or headers.get("Proxy-Authorization"):
            return None  # our credentials were refused already
        return with_credentials(self.invite, response, self._credentials, self.link.via())

    def _got_2xx(self, response: Response) -> None:
        if self.dialog is None:
            self.dialog = Dialog.as_uac(self.invite, response)
            self.dialog.confirmed = True
            if self.state is S.TERMINATED:  # a 2xx after we gave up on the CANCEL
                self._send_ack(response)
                self._send_bye()
                return
            self.link.dialog_ready(self)
        self._send_ack(response)
        if self.allows(E.ANSWERED):
            self._fire(E.ANSWERED, response)

    def _send_ack(self, response: Response) -> None:
        """ACK every 2xx (RFC 3261 §13.2.2.4); a retransmitted 2xx gets the same ACK."""
        assert self.dialog is not None
        number = response.cseq[0]
        if self._ack is None or self._ack.cseq[0] != number:
            self._ack = self.dialog.request("ACK", self.link.via(), self.link.contact, cseq=number)
        self.link.send(self._ack)

    def _progress(self, response: Response) -> None:
        if self._invite_tx is not None:  # now it waits for the final response (§17.1.1.2)
            self._invite_tx.cancel_timeout()
        if response.status > 100 and self.on_progress is not None:
            self.on_progress(self, response)

    def _answered(self, response: Response) -> None:
        self.remote_sdp = response.body
        if self.on_answered is not None:
            self.on_answered(self)

    def _failed(self, response: Response) -> None:
        self.end_status = response.status
        self.ended_by = self.ended_by or "remote"

    def _cancel_on_provisional(self) -> None:
        self.ended_by = "local"

    def _send_cancel(self, *_: object) -> None:
        self.ended_by = "local"
        if self._cancel_tx is None:
            self._cancel_tx = self.link.client(cancel_for(self.invite), _ignore)
            self._timers.arm("cancel", 64 * T1, lambda: self._fire(E.CANCEL_TIMEOUT))

    def _cancel_timed_out(self) -> None:
        """No final response 64*T1 after our CANCEL (RFC 3261 §9.1): we give up."""
        self.end_status = 408

    # -- UAS --------------------------------------------------------------------------------

    def ring(self, sdp: bytes = b"") -> None:
        """180 Ringing, or 183 Session Progress with early media when ``sdp`` (our SDP
        answer) is given (RFC 3261 §13.3.1.1). UAS, before the answer."""
        self._fire(E.RING, sdp)

    def answer(self, sdp: bytes) -> None:
        """200 OK with our SDP answer (UAS, before the answer), retransmitted until the ACK
        comes; none within 64*T1 ends the call with BYE (RFC 3261 §13.3.1.4)."""
        self._fire(E.ANSWER, sdp)

    def reject(
        self, status: int, reason: str | None = None, extra: list[tuple[str, str]] | None = None
    ) -> None:
        """A final failure response (486 Busy, 603 Decline, 480, 401 with WWW-Authenticate
        challenges in ``extra``...) before the answer (UAS). ValueError for a status below 300."""
        if status < 300:
            raise ValueError(f"reject() needs a failure status, not {status}")
        self._fire(E.REJECT, status, reason, extra or [])

    def receive_cancel(self) -> None:
        """The peer CANCELled our INVITE (the endpoint answered the CANCEL itself): 487 before
        the answer; after the final response a CANCEL has no effect (RFC 3261 §9.2)."""
        if self.allows(E.CANCELLED):
            self._fire(E.CANCELLED)

    def receive_ack(self, ack: Request) -> None:
        """An ACK in our dialog: the one for our pending 2xx stops its retransmissions."""
        if self._ok is None or ack.cseq[0] != self._ok.cseq[0]:
            return  # a copy of an ACK already taken, or a stray one
        self._ok = None
        self._timers.disarm("2xx")
        self._timers.disarm("ack")
        self._fire(E.ACKED)

    def receive_invite_again(self, tx: ServerTransaction, request: Request) -> None:
        """The peer's INVITE (no To tag) again after its transaction ended (while it lives,
        RFC 6026's Accepted state absorbs copies): a copy (same branch and CSeq) gets our 2xx
        again; another request with this Call-ID and From tag is merged: 482 (§8.2.2.2)."""
        copy = request.cseq == self.invite.cseq and _branch(request) == _branch(self.invite)
        if not copy:
            tx.respond(response_to(request, 482, to_tag=new_tag()))
        elif self._answer is not None:
            tx.respond(self._answer)

    def _respond(
        self,
        status: int,
        reason: str | None = None,
        body: bytes = b"",
        extra: list[tuple[str, str]] | None = None,
    ) -> Response:
        assert self._server_tx is not None
        response = response_to(
            self.invite, status, reason, to_tag=self.local_tag, body=body, extra=extra
        )
        self._server_tx.respond(response)
        return response

    def _send_provisional(self, sdp: bytes) -> None:
        extra = [("Contact", self.link.contact), *self.headers]
        if sdp:
            extra.append(("Content-Type", SDP))
        self._respond(183 if sdp else 180, body=sdp, extra=extra)

    def _send_answer(self, sdp: bytes) -> None:
        self.local_sdp = sdp
        self.dialog = Dialog.as_uas(self.invite, self.local_tag)
        self.link.dialog_ready(self)
        extra = [
            ("Contact", self.link.contact),
            ("Content-Type", SDP),
            ("Allow", ALLOW),
            ("Server", USER_AGENT),
            *self.headers,
        ]
        self._answer = self._respond(200, body=sdp, extra=extra)
        self._await_ack(self._answer)

    def _send_reject(self, status: int, reason: str | None, extra: list[tuple[str, str]]) -> None:
        self._respond(status, reason, extra=[*self.headers, *extra])
        self.end_status = status
        self.ended_by = "local"

    def _send_487(self) -> None:
        self._respond(487, extra=self.headers)
        self.end_status = 487
        self.ended_by = "remote"

    def _await_ack(self, ok: Response) -> None:
        """Retransmit ``ok`` over UDP (T1 doubling up to T2) until its ACK (§13.3.1.4)."""
        self._ok = ok
        self._interval = T1
        if not self.link.reliable:
            self._timers.arm("2xx", T1, self._resend_2xx)
        self._timers.arm("ack", 64 * T1, self._ack_timed_out)

    def _resend_2xx(self) -> None:
        if self._ok is not None:
            self.link.send(self._ok)
            self._interval = min(self._interval * 2, T2)
            self._timers.arm("2xx", self._interval, self._resend_2xx)

    def _ack_timed_out(self) -> None:
        log.info("no ACK for the 2xx of %s; ending it", self.call_id)
        self._ok = None
        self._timers.disarm("2xx")
        self._fire(E.ACK_TIMEOUT)

    def _hung_up_before_ack(self) -> None:
        self.ended_by = "local"

    # -- in the dialog ------------------------------------------------------------------

    def hang_up(self, status: int = 480) -> None:
        """End the call from our side: BYE once answered (a UAS still waiting for the ACK of
        its 2xx sends it when the ACK comes, RFC 3261 §15); before, ``cancel()`` (UAC) or
        ``reject(status)`` (UAS). InviteStateError once ending or ended (see ``active``)."""
        if self.role is Role.UAC and self.state in (S.CALLING, S.EARLY):
            self.cancel()
        elif self.role is Role.UAS and self.state in (S.INCOMING, S.EARLY):
            self.reject(status)
        else:
            self._fire(E.HANG_UP)

    def modify(self, sdp: bytes) -> None:
        """A re-INVITE with our new offer ``sdp`` (hold: a=sendonly or a=inactive; resume:
        a=sendrecv; RFC 3264 §8.4). CONFIRMED only: never while another INVITE is in progress
        in either direction (RFC 3261 §14.1). Its final response goes to ``on_modified``
        (2xx: ``remote_sdp`` is the answer); a 491 is retried once after the §14.1 wait,
        unless the peer's own re-INVITE comes first (then ``on_modified`` gets the 491)."""
        self._fire(E.MODIFY, sdp)

    def receive_request(self, tx: ServerTransaction, request: Request) -> None:
        """A request the user agent matched to our dialog: BYE, re-INVITE, UPDATE, INFO..."""
        assert self.dialog is not None
        if not self.dialog.check_remote_cseq(request):
            tx.respond(response_to(request, 500, "Out of order CSeq"))
        elif request.method == "BYE":
            if self.allows(E.BYE):
                self._fire(E.BYE, tx)
            else:
                tx.respond(response_to(request, 481))
        elif request.method == "INVITE":
            self._reinvited(tx, request)
        elif request.method == "UPDATE":
            self._updated(tx, request)
        elif request.method in ("INFO", "OPTIONS", "NOTIFY"):
            tx.respond(response_to(request, 200))
        else:
            tx.respond(response_to(request, 405, extra=[("Allow", ALLOW)]))

    def receive_2xx_again(self, response: Response) -> None:
        """A 2xx to our INVITE after its transaction ended: ACK it again (§13.2.2.4)."""
        if self.dialog is not None:
            self._send_ack(response)

    def _bye_received(self, tx: ServerTransaction) -> None:
        tx.respond(response_to(tx.request, 200))
        self._ok = None
        self.ended_by = self.ended_by or "remote"

    def _send_bye(self, *_: object) -> None:
        assert self.dialog is not None
        self._ok = None
        bye = self.dialog.request("BYE", self.link.via(), self.link.contact)
        self.link.client(bye, _ignore)

    def _answer_offer(self, offer: bytes) -> bytes | None:
        if self.on_reinvite is None:
            return None
        try:
            return self.on_reinvite(self, offer)
        except SdpError as exc:
            log.info("offer refused on %s: %s", self.call_id, exc)
            return None

    def _reinvited(self, tx: ServerTransaction, request: Request) -> None:
        """The peer's re-INVITE: 491 while ours is pending, 500 with Retry-After while
        another INVITE is in progress (RFC 3261 §14.2), else our answer or 488. One without
        an offer gets our current SDP as the offer (its answer, in the ACK, is not read)."""
        assert self.dialog is not None
        if not self.allows(E.OFFER):
            status = BUSY_STATUS.get(self.state, 500)
            extra = [("Retry-After", RETRY_AFTER)] if status == 500 else []
            tx.respond(response_to(request, status, extra=extra))
            return
        self.dialog.refresh_target(request)
        answer = self._answer_offer(request.body) if request.body else self.local_sdp
        if answer is None:
            tx.respond(response_to(request, 488))
            self._fire(E.OFFER_REFUSED)
            return
        if request.body:
            self.remote_sdp = request.body
        self._fire(E.OFFER, tx, request, answer)

    def _send_offer_answer(self, tx: ServerTransaction, request: Request, answer: bytes) -> None:
        self.local_sdp = answer
        extra = [("Contact", self.link.contact), ("Content-Type", SDP), ("Allow", ALLOW)]
        ok = response_to(request, 200, body=answer, extra=extra)
        tx.respond(ok)
        self._await_ack(ok)

    def _send_offer_answer_after_glare(
        self, tx: ServerTransaction, request: Request, answer: bytes
    ) -> None:
        """The peer's re-INVITE came first after the glare: take it, drop ours."""
        self._timers.disarm("glare")
        self._send_offer_answer(tx, request, answer)
        refusal, self._glared = self._glared, None
        if refusal is not None and self.on_modified is not None:
            self.on_modified(self, refusal)

    def _updated(self, tx: ServerTransaction, request: Request) -> None:
        """UPDATE (RFC 3311): 491 while our offer is pending (§5.2), else answered at once."""
        if self.state in (S.REINVITING, S.REINVITED):
            tx.respond(response_to(request, 491 if self.state is S.REINVITING else 500))
            return
        if not request.body:
            tx.respond(response_to(request, 200))
            return
        answer = self._answer_offer(request.body)
        if answer is None:
            tx.respond(response_to(request, 488))
            return
        self.remote_sdp, self.local_sdp = request.body, answer
        tx.respond(response_to(request, 200, body=answer, extra=[("Content-Type", SDP)]))

    def _send_reinvite(self, sdp: bytes) -> None:
        self._offer = sdp
        self._glared = None
        self._send_reinvite_again()

    def _send_reinvite_again(self) -> None:
        assert self.dialog is not None
        via, contact = self.link.via(), self.link.contact
        request = self.dialog.request("INVITE", via, contact, self._offer, SDP)
        self.link.client(request, self._reinvite_response)

    def _reinvite_response(self, response: Response) -> None:
        status = response.status
        if status < 200:
            return
        if status < 300:
            assert self.dialog is not None
            self.dialog.refresh_target(response)
            self._send_ack(response)
            if self.allows(E.MODIFIED):
                self._fire(E.MODIFIED, response)
        elif not self.allows(E.MODIFY_FAILED):
            return  # we hung up meanwhile
        elif status == 491 and self._glared is None and self._offer:
            self._fire(E.GLARED, response)
        elif status in (408, 481):
            self._fire(E.MODIFY_FATAL, response)
        else:
            self._fire(E.MODIFY_FAILED, response)

    def _modified(self, response: Response) -> None:
        self.local_sdp, self.remote_sdp = self._offer, response.body
        self._glared = None
        if self.on_modified is not None:
            self.on_modified(self, response)

    def _modify_failed(self, response: Response) -> None:
        self._glared = None
        if self.on_modified is not None:
            self.on_modified(self, response)

    def _dialog_lost(self, response: Response) -> None:
        """408 or 481 to our re-INVITE: the dialog is gone (RFC 3261 §14.1); end it."""
        self._modify_failed(response)
        self._send_bye()

    def _wait_after_glare(self, response: Response) -> None:
        self._glared = response
        delay = glare_delay(owner=self.role is Role.UAC)
        self._timers.arm("glare", delay, lambda: self._fire(E.RETRY))


def _ignore(response: Response) -> None:
    pass


def _branch(request: Request) -> str:
    return Via.parse(request.headers.get_all("Via")[0]).branch


def _user(uri: str) -> str:
    _scheme, _, rest = uri.partition(":")
    rest = rest.split(";", 1)[0]
    user, at, _ = rest.partition("@")
    return user if at else ""
