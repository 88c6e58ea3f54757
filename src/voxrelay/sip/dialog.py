"""SIP dialogs (RFC 3261 §12): the state two user agents share for one call.

A dialog is identified by Call-ID, local tag and remote tag. It remembers the remote target
(Contact), the route set (Record-Route), and both CSeq counters, and builds in-dialog
requests (BYE, re-INVITE, the ACK for a 2xx). Sans-I/O.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from voxrelay.sip.message import Headers, NameAddr, Request, Response, SipParseError


def new_tag() -> str:
    return secrets.token_hex(6)


def new_branch() -> str:
    """A branch with the RFC 3261 magic cookie (§8.1.1.7)."""
    return "z9hG4bK" + secrets.token_hex(10)


@dataclass
class Dialog:
    call_id: str
    local_tag: str
    remote_tag: str
    local_uri: str  # From (UAC) or To (UAS) as a name-addr string without tag
    remote_uri: str
    remote_target: str  # the peer's Contact URI
    route_set: list[str] = field(default_factory=list)
    local_cseq: int = 1
    remote_cseq: int = 0
    confirmed: bool = False

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.call_id, self.local_tag, self.remote_tag)

    @classmethod
    def as_uas(cls, invite: Request, local_tag: str) -> Dialog:
        """The dialog a UAS makes when it answers ``invite`` (RFC 3261 §12.1.1)."""
        contact = _contact_uri(invite)
        from_ = NameAddr.parse(invite.header("From"))
        to = NameAddr.parse(invite.header("To"))
        return cls(
            call_id=invite.call_id,
            local_tag=local_tag,
            remote_tag=from_.tag,
            local_uri=_without_tag(to),
            remote_uri=_without_tag(from_),
            remote_target=contact,
            route_set=invite.headers.get_all("Record-Route"),
            local_cseq=secrets.randbelow(10000) + 1,
            remote_cseq=invite.cseq[0],
        )

    @classmethod
    def as_uac(cls, invite: Request, response: Response) -> Dialog:
        """The dialog a UAC makes from a 2xx (or 1xx with tag) to ``invite`` (§12.1.2)."""
        from_ = NameAddr.parse(invite.header("From"))
        to = NameAddr.parse(response.header("To"))
        contact = _contact_uri(response)
        return cls(
            call_id=invite.call_id,
            local_tag=from_.tag,
            remote_tag=to.tag,
            local_uri=_without_tag(from_),
            remote_uri=_without_tag(to),
            remote_target=contact,
            route_set=list(reversed(response.headers.get_all("Record-Route"))),
            local_cseq=invite.cseq[0],
        )

    def request(
        self,
        method: str,
        via: str,
        contact: str,
        body: bytes = b"",
        content_type: str | None = None,
        cseq: int | None = None,
    ) -> Request:
        """An in-dialog request; increments the local CSeq unless ``cseq`` is given (ACK)."""
        if cseq is None:
            self.local_cseq += 1
            cseq = self.local_cseq
        headers = Headers()
        headers.add("Via", via)
        headers.add("Max-Forwards", "70")
        for route in self.route_set:
            headers.add("Route", route)
        headers.add("From", f"{self.local_uri};tag={self.local_tag}")
        headers.add("To", f"{self.remote_uri};tag={self.remote_tag}")
        headers.add("Call-ID", self.call_id)
        headers.add("CSeq", f"{cseq} {method}")
        headers.add("Contact", contact)
        if content_type and body:
            headers.add("Content-Type", content_type)
        return Request(headers, body, method, self.remote_target)

    def refresh_target(self, message: Request | Response) -> None:
        """A target refresh (a re-INVITE, UPDATE or their 2xx; RFC 3261 §12.2): the peer's new
        Contact becomes the remote target. A message without a usable Contact changes nothing."""
        try:
            self.remote_target = _contact_uri(message)
        except SipParseError:
            return

    def check_remote_cseq(self, request: Request) -> bool:
        """In-dialog request order (§12.2.2): False for an out-of-order request (answer 500)."""
        number = request.cseq[0]
        if request.method in ("ACK", "CANCEL"):
            return True
        if number <= self.remote_cseq:
            return False
        self.remote_cseq = number
        return True


def _contact_uri(message: Request | Response) -> str:
    contact = message.headers.get("Contact")
    if not contact:
        raise SipParseError("missing Contact")
    return NameAddr.parse(contact.split(",")[0]).uri


def _without_tag(addr: NameAddr) -> str:
    params = {k: v for k, v in addr.params.items() if k != "tag"}
    return str(NameAddr(addr.display, addr.uri, params))


def dialog_key_of(message: Request | Response, local_is_to: bool) -> tuple[str, str, str]:
    """(Call-ID, local tag, remote tag) of a message in a dialog."""
    to = NameAddr.parse(message.header("To")).tag
    from_ = NameAddr.parse(message.header("From")).tag
    return (message.call_id, to, from_) if local_is_to else (message.call_id, from_, to)
