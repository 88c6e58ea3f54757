"""SIP calls on the server: phones call RELAY contexts, and ``calling.dial`` calls phones.

Inbound: an INVITE becomes an inbound call of the SIP project, routed to a context by the
Request-URI user (``[sip.routes]``; default: every INVITE to ``default``). Its ``device`` is
``{type: "phone", params: {from_number, to_number}}`` when both users look like numbers,
else ``{type: "sip", params: {from, to}}``. The call's state drives the SIP side: ringing ->
180, answered -> 200 with the SDP answer, ended -> BYE, or 486/603/480/487 before answer.
A play before the answer sends 183 Session Progress with the SDP answer (early media). A
BYE or CANCEL from the phone ends the call. re-INVITEs (hold, resume, refresh) are answered.
An ``Expires`` header (seconds, RFC 3261 §20.19) is the call's ring timeout.

Calling as a project (how virtual phones call in): an INVITE with an ``X-Relay-Context:
<context>`` header and no credentials is challenged (401, digest as in the registrar,
RFC 3261 §22.2) for username = project id, password = the project's token. Authenticated,
the call belongs to that project and goes to the context the header names (routes as above
without it). Wrong credentials get 403 and no call. Every response to an INVITE that made a
RELAY call names it: ``X-Relay-Call-Id: <call_id>``; our INVITEs for ``calling.dial`` carry
the outbound leg's id the same way.

Outbound (``reach``): ``sip`` devices are INVITEd at their URI; ``phone`` devices and our own
SIP users reach a phone registered for the number by the dialling project (a virtual phone
registers its number with digest username = project id), else a softphone of ``[sip.users]``
with that number, else the configured trunk.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from voxrelay.protocol.models import Device
from voxrelay.protocol.sip import CALL_ID_HEADER, CONTEXT_HEADER, FAILURE, REJECT
from voxrelay.protocol.states import CallState, Direction, EndReason
from voxrelay.server.calls import Call
from voxrelay.server.media import MediaError
from voxrelay.server.node import Node
from voxrelay.sip import offeranswer
from voxrelay.sip.digest import DigestError
from voxrelay.sip.invite import Event as SipEvent
from voxrelay.sip.invite import InviteSession as SipCall
from voxrelay.sip.invite import InviteState as SipState
from voxrelay.sip.message import SipParseError, SipUri
from voxrelay.sip.registrar import Aor, Registrar
from voxrelay.sip.sdp import SdpError, SessionDescription
from voxrelay.sip.useragent import UserAgent

log = logging.getLogger(__name__)
NUMBER = re.compile(r"^\+?[0-9*#]{2,32}$")
MAX_CONTEXT = 128


def device_for(from_user: str, to_user: str, from_uri: str, to_uri: str) -> dict[str, Any]:
    if NUMBER.match(from_user or "") and NUMBER.match(to_user or ""):
        return {"type": "phone", "params": {"from_number": from_user, "to_number": to_user}}
    return {"type": "sip", "params": {"from": from_uri, "to": to_uri}}


class SipLink:
    """Keeps a RELAY call and its SIP call in step (the call's far end)."""

    def __init__(self, service: SipService, call: Call, sip_call: SipCall) -> None:
        self.service, self.call, self.sip = service, call, sip_call
        self.answer_sdp = b""
        self.early = False  # a 183 with SDP went out
        self.version = 0
        sip_call.on_ended = self._sip_ended
        sip_call.on_reinvite = self._reinvite

    def on_state(self, call: Call) -> None:
        sip = self.sip
        if not sip.active:
            return
        if call.state is CallState.RINGING and sip.allows(SipEvent.RING):
            sip.ring()
        elif call.state is CallState.ANSWERED and sip.allows(SipEvent.ANSWER):
            sip.answer(self.answer_sdp)
        elif not call.active:
            sip.hang_up(REJECT.get(call.end_reason or EndReason.HANGUP, 480))

    def early_media(self, call: Call) -> None:
        """183 Session Progress with our SDP answer (RFC 3261 §13.3.1.1): the phone plays
        what we send before the 200 (ringback, announcements). The 200 repeats the SDP."""
        if self.sip.allows(SipEvent.RING) and self.answer_sdp and not self.early:
            self.early = True
            self.sip.ring(self.answer_sdp)

    def _sip_ended(self, sip: SipCall) -> None:
        if not self.call.active:
            return
        if sip.ended_by != "remote":  # the SIP side gave up by itself: no ACK for our 200 OK
            self.call.hang_up(EndReason.ERROR)
            return
        if self.call.state is CallState.ANSWERED:
            self.call.hang_up(EndReason.HANGUP)
        elif sip.role == "uas":
            self.call.hang_up(EndReason.CANCEL)
        else:
            self.call.hang_up(FAILURE.get(sip.end_status or 0, EndReason.ERROR))

    def _reinvite(self, sip: SipCall, offer: bytes) -> bytes | None:
        media = self.call.media
        if media is None:
            return None
        host, port = media.transport.local
        self.version += 1
        try:
            neg = offeranswer.answer(
                offer,
                host,
                port,
                supported=[media.leg.codec.name],
                session_id=offeranswer.session_id_of(sip.local_sdp),
                session_version=self.version,
            )
        except SdpError:
            return None
        self.service.node.media.connect(self.call, neg)
        return neg.answer_sdp


class SipService:
    """The node's SIP user agent, registrar and call routing."""

    def __init__(self, node: Node) -> None:
        self.node = node
        cfg = node.config.sip
        self.config = cfg
        self.host = cfg.host or node.config.host
        self.ua = UserAgent(self.host, cfg.port)
        self.registrar = Registrar(
            cfg.realm, self._password_of, cfg.digest_algorithms, aor_of=self._aor_of
        )
        self.ua.on_incoming = self._incoming
        self.ua.on_register = self.registrar.handle
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def project(self) -> str:
        return self.config.project or self.node.config.projects[0].id

    def _sip_user(self, name: str) -> str | None:
        return next((u.password for u in self.config.users.values() if u.name == name), None)

    def _password_of(self, username: str) -> str | None:
        """A softphone account of ``[sip.users]``, else a project (its token)."""
        return self._sip_user(username) or self.node.auth.token_of(username)

    def _aor_of(self, username: str, to_user: str) -> Aor | None:
        """Softphone accounts register their own name; a project any number of its own."""
        if self._sip_user(username) is not None:
            return ("", username) if to_user == username else None
        return (username, to_user) if to_user else None

    async def start(self) -> None:
        await self.ua.start()
        self.config.port = self.ua.endpoint.port

    async def stop(self) -> None:
        await self.ua.stop()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- inbound ------------------------------------------------------------------------

    def route(self, sip_call: SipCall) -> str:
        user = sip_call.request_user or sip_call.to_user
        return (
            self.config.routes.get(user)
            or self.node.config.numbers.get(user)
            or self.config.default_context
        )

    def _incoming(self, sip_call: SipCall) -> None:
        self._spawn(self._take_incoming(sip_call))

    def authorize(self, sip_call: SipCall) -> tuple[str, str] | None:
        """(project, context) of an INVITE, or None once it was challenged or refused."""
        invite = sip_call.invite
        context = (invite.headers.get(CONTEXT_HEADER) or "").strip()
        credentials = invite.headers.get("Authorization")
        if credentials is None:
            if not context:
                return self.project, self.route(sip_call)
            sip_call.reject(401, extra=self._challenge())
            return None
        auth = self.registrar.auth
        try:
            project = auth.verify(credentials, "INVITE", self.node.auth.token_of, uri=invite.uri)
        except DigestError as exc:
            if exc.stale:
                sip_call.reject(401, extra=self._challenge(stale=True))
            else:
                log.info("INVITE %s refused: %s", sip_call.call_id, exc.reason)
                sip_call.reject(403)
            return None
        if len(context) > MAX_CONTEXT:
            sip_call.reject(400, f"{CONTEXT_HEADER} too long")
            return None
        return project, context or self.route(sip_call)

    def _challenge(self, stale: bool = False) -> list[tuple[str, str]]:
        values = self.registrar.auth.challenge_headers(stale)
        return [("WWW-Authenticate", value) for value in values]

    async def _take_incoming(self, sip_call: SipCall) -> None:
        if not sip_call.allows(SipEvent.REJECT):  # cancelled before this task ran
            return
        where = self.authorize(sip_call)
        if where is None:
            return
        project, context = where
        try:
            neg = offeranswer.answer(sip_call.remote_sdp, self.node.media.host, 9)
        except SdpError as exc:
            log.info("INVITE %s: %s", sip_call.call_id, exc)
            sip_call.reject(488)
            return
        node = self.node
        if len(node.calls) >= node.config.max_calls:
            sip_call.reject(503, "Too many calls")
            return
        from_uri = _addr_uri(sip_call.invite.header("From"))
        to_uri = _addr_uri(sip_call.invite.header("To"))
        device = device_for(
            sip_call.from_user, sip_call.request_user or sip_call.to_user, from_uri, to_uri
        )
        call = node.router.new_call(project, Direction.INBOUND, device, context=context)
        sip_call.headers.append((CALL_ID_HEADER, call.call_id))
        link = SipLink(self, call, sip_call)
        call.far_end = link
        try:
            answer = await node.media.attach(call, neg)
        except MediaError:
            if sip_call.allows(SipEvent.REJECT):
                sip_call.reject(503)
            call.hang_up(EndReason.ERROR)
            return
        final = offeranswer.answer(
            sip_call.remote_sdp, answer.rtp_host, answer.rtp_port, supported=[neg.codec]
        )
        link.answer_sdp = final.answer_sdp
        if sip_call.state is SipState.TERMINATED:  # cancelled while we set up
            call.hang_up(EndReason.CANCEL)
            return
        node.router.ring(call, _expires(sip_call.invite.headers.get("Expires")))

    # -- outbound -------------------------------------------------------------------------

    def target(self, device: Device, project: str = "") -> tuple[str, str, int, str] | None:
        """(request URI, host, port, transport) for a device dialled by ``project``, or None
        if unreachable."""
        params = device.params
        if device.type == "sip":
            to = str(params.get("to") or "")
            try:
                uri = SipUri.parse(to)
            except SipParseError:
                return None
            local = uri.host in (self.host, "voxrelay", "localhost") and (
                uri.port in (None, self.ua.endpoint.port)
            )
            if local:
                return self._registered(uri.user, project) or self._registered(uri.user)
            transport = uri.params.get("transport", "udp").upper()
            return to, uri.host, uri.port or 5060, transport
        if device.type == "phone":
            number = str(params.get("to_number") or "")
            user = next((u.name for u in self.config.users.values() if u.number == number), None)
            found = self._registered(number, project) if project else None
            if found is None and user:
                found = self._registered(user)
            if found is None and self.config.trunk:
                trunk = SipUri.parse(self.config.trunk)
                request_uri = f"sip:{number}@{trunk.host}" + (
                    f":{trunk.port}" if trunk.port else ""
                )
                return (
                    request_uri,
                    trunk.host,
                    trunk.port or 5060,
                    trunk.params.get("transport", "udp").upper(),
                )
            return found
        return None

    def _registered(self, user: str, owner: str = "") -> tuple[str, str, int, str] | None:
        bindings = self.registrar.lookup(user, owner)
        if not bindings:
            return None
        b = bindings[-1]
        return b.contact, b.peer.host, b.peer.port, b.peer.transport

    async def dial(self, leg: Call, device: Device, timeout: float) -> bool:
        """INVITE the device for the outbound ``leg``; False if it cannot be reached."""
        target = self.target(device, leg.project)
        if target is None:
            return False
        uri, host, port, transport = target
        params = device.params
        media = self.node.media
        try:
            ours = await media.attach(leg, None, codecs=_codecs(params.get("codecs")))
        except MediaError:
            return False
        offer = offeranswer.offer(
            ours.rtp_host, ours.rtp_port, codecs=_codecs(params.get("codecs"))
        )
        from_number = str(params.get("from") or params.get("from_number") or "voxrelay")
        from_uri = (
            from_number if from_number.startswith("sip") else f"sip:{from_number}@{self.host}"
        )
        headers = [
            (str(h.get("name")), str(h.get("value")))
            for h in params.get("headers") or []
            if isinstance(h, dict) and h.get("name")
        ]
        headers.append((CALL_ID_HEADER, leg.call_id))
        try:
            sip_call = await self.ua.invite(
                uri,
                from_uri=from_uri,
                to_uri=uri,
                sdp=offer.serialize(),
                host=host,
                port=port,
                transport=transport,
                from_name=str(params.get("from_name") or ""),
                headers=headers,
            )
        except OSError:
            return False
        link = SipLink(self, leg, sip_call)
        leg.far_end = link
        sip_call.on_progress = lambda c, r: self._progress(leg, offer, r)
        sip_call.on_answered = lambda c: self._answered(leg, offer, c)
        loop = asyncio.get_running_loop()
        loop.call_later(
            timeout,
            lambda: (
                leg.hang_up(EndReason.NO_ANSWER)
                if leg.active and leg.state is not CallState.ANSWERED
                else None
            ),
        )
        return True

    def _progress(self, leg: Call, offer: SessionDescription, response: Any) -> None:
        if response.body:
            self._connect(leg, offer, response.body)
        if leg.state is CallState.CREATED:
            leg.transition(CallState.RINGING)

    def _answered(self, leg: Call, offer: SessionDescription, sip_call: SipCall) -> None:
        if sip_call.remote_sdp:
            self._connect(leg, offer, sip_call.remote_sdp)
        if leg.active:
            leg.transition(CallState.ANSWERED)

    def _connect(self, leg: Call, offer: SessionDescription, answer: bytes) -> None:
        try:
            neg = offeranswer.read_answer(offer, answer)
        except SdpError as exc:
            log.info("bad SDP answer on %s: %s", leg.call_id, exc)
            return
        self.node.media.connect(leg, neg)


def _codecs(value: object) -> list[str]:
    names = value.split(",") if isinstance(value, str) else value if isinstance(value, list) else []
    wanted = [str(n).strip().upper() for n in names if str(n).strip().upper() in ("PCMU", "PCMA")]
    return wanted or ["PCMU", "PCMA"]


def _expires(value: str | None) -> float | None:
    """An INVITE's Expires (seconds, 1 to 3600) as a ring timeout; None when absent."""
    if value is None or not value.strip().isdigit():
        return None
    return float(min(max(int(value.strip()), 1), 3600))


def _addr_uri(header: str) -> str:
    from voxrelay.sip.message import NameAddr

    return NameAddr.parse(header).uri
