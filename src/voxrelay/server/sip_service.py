"""SIP calls on the server: phones call RELAY contexts, and ``calling.dial`` calls phones.

Inbound: an INVITE becomes an inbound call of the SIP project, routed to a context by the
Request-URI user (``[sip.routes]``; default: every INVITE to ``default``). Its ``device`` is
``{type: "phone", params: {from_number, to_number}}`` when both users look like numbers,
else ``{type: "sip", params: {from, to}}``. The call's state drives the SIP side: ringing ->
180, answered -> 200 with the SDP answer, ended -> BYE, or 486/603/480/487 before answer.
A BYE or CANCEL from the phone ends the call. re-INVITEs (hold, resume, refresh) are answered.

Outbound (``reach``): ``sip`` devices are INVITEd at their URI; ``phone`` devices and our own
SIP users reach a registered softphone, else the configured trunk.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from voxrelay.protocol.models import Device
from voxrelay.protocol.states import CallState, Direction, EndReason
from voxrelay.server.calls import Call
from voxrelay.server.media import MediaError, MediaOffer
from voxrelay.server.node import Node
from voxrelay.sip import sdp
from voxrelay.sip.message import SipParseError, SipUri
from voxrelay.sip.registrar import Registrar
from voxrelay.sip.useragent import CallState as SipState
from voxrelay.sip.useragent import SipCall, UserAgent

log = logging.getLogger(__name__)
NUMBER = re.compile(r"^\+?[0-9*#]{2,32}$")
REJECT = {
    EndReason.BUSY: 486,
    EndReason.DECLINE: 603,
    EndReason.CANCEL: 487,
    EndReason.NO_ANSWER: 480,
    EndReason.NOT_FOUND: 404,
}
FAILURE = {
    486: EndReason.BUSY,
    600: EndReason.BUSY,
    603: EndReason.DECLINE,
    480: EndReason.NO_ANSWER,
    408: EndReason.NO_ANSWER,
    487: EndReason.CANCEL,
    404: EndReason.NOT_FOUND,
    604: EndReason.NOT_FOUND,
}


def device_for(from_user: str, to_user: str, from_uri: str, to_uri: str) -> dict[str, Any]:
    if NUMBER.match(from_user or "") and NUMBER.match(to_user or ""):
        return {"type": "phone", "params": {"from_number": from_user, "to_number": to_user}}
    return {"type": "sip", "params": {"from": from_uri, "to": to_uri}}


class SipLink:
    """Keeps a RELAY call and its SIP call in step (the call's far end)."""

    def __init__(self, service: SipService, call: Call, sip_call: SipCall) -> None:
        self.service, self.call, self.sip = service, call, sip_call
        self.answer_sdp = b""
        self.version = 0
        sip_call.on_ended = self._sip_ended
        sip_call.on_reinvite = self._reinvite

    def on_state(self, call: Call) -> None:
        sip = self.sip
        if sip.state is SipState.TERMINATED:
            return
        if call.state is CallState.RINGING and sip.role == "uas":
            sip.ring()
        elif call.state is CallState.ANSWERED and sip.role == "uas":
            sip.answer(self.answer_sdp)
        elif not call.active:
            reason = call.end_reason or EndReason.HANGUP
            if sip.state is SipState.CONFIRMED or sip.role == "uac":
                sip.hang_up()
            else:
                sip.reject(REJECT.get(reason, 480))

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
            neg = sdp.answer(
                offer, host, port, supported=[media.leg.codec.name], session_version=self.version
            )
        except sdp.SdpError:
            return None
        self.service.node.media.connect(
            self.call,
            neg.remote_host,
            neg.remote_port,
            neg.codec,
            neg.telephone_event,
            neg.rtcp_mux,
            neg.sends,
        )
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
            cfg.realm, {u.name: u.password for u in cfg.users.values()}, cfg.digest_algorithms
        )
        self.ua.on_incoming = self._incoming
        self.ua.on_register = self.registrar.handle
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def project(self) -> str:
        return self.config.project or self.node.config.projects[0].id

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

    async def _take_incoming(self, sip_call: SipCall) -> None:
        try:
            neg = sdp.answer(sip_call.remote_sdp, self.node.media.host, 9)
        except sdp.SdpError as exc:
            log.info("INVITE %s: %s", sip_call.call_id, exc)
            sip_call.reject(488)
            return
        node = self.node
        from_uri = _addr_uri(sip_call.invite.header("From"))
        to_uri = _addr_uri(sip_call.invite.header("To"))
        device = device_for(
            sip_call.from_user, sip_call.request_user or sip_call.to_user, from_uri, to_uri
        )
        call = node.router.new_call(
            self.project, Direction.INBOUND, device, context=self.route(sip_call)
        )
        link = SipLink(self, call, sip_call)
        call.far_end = link
        try:
            answer = await node.media.attach(
                call,
                MediaOffer(
                    rtp_host=neg.remote_host,
                    rtp_port=neg.remote_port,
                    codecs=[neg.codec],
                    telephone_event=neg.telephone_event,
                    rtcp_mux=neg.rtcp_mux,
                ),
            )
        except MediaError:
            sip_call.reject(503)
            call.hang_up(EndReason.ERROR)
            return
        final = sdp.answer(
            sip_call.remote_sdp, answer.rtp_host, answer.rtp_port, supported=[neg.codec]
        )
        link.answer_sdp = final.answer_sdp
        if sip_call.state is SipState.TERMINATED:  # cancelled while we set up
            call.hang_up(EndReason.CANCEL)
            return
        node.router.ring(call)

    # -- outbound -------------------------------------------------------------------------

    def target(self, device: Device) -> tuple[str, str, int, str] | None:
        """(request URI, host, port, transport) for a device, or None if unreachable."""
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
                return self._registered(uri.user)
            transport = uri.params.get("transport", "udp").upper()
            return to, uri.host, uri.port or 5060, transport
        if device.type == "phone":
            number = str(params.get("to_number") or "")
            user = next((u.name for u in self.config.users.values() if u.number == number), None)
            found = self._registered(user) if user else None
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

    def _registered(self, user: str) -> tuple[str, str, int, str] | None:
        bindings = self.registrar.lookup(user)
        if not bindings:
            return None
        b = bindings[-1]
        return b.contact, b.peer.host, b.peer.port, b.peer.transport

    async def dial(self, leg: Call, device: Device, timeout: float) -> bool:
        """INVITE the device for the outbound ``leg``; False if it cannot be reached."""
        target = self.target(device)
        if target is None:
            return False
        uri, host, port, transport = target
        params = device.params
        media = self.node.media
        try:
            ours = await media.attach(leg, None, codecs=_codecs(params.get("codecs")))
        except MediaError:
            return False
        offer = sdp.offer(ours.rtp_host, ours.rtp_port, codecs=_codecs(params.get("codecs")))
        from_number = str(params.get("from") or params.get("from_number") or "voxrelay")
        from_uri = (
            from_number if from_number.startswith("sip") else f"sip:{from_number}@{self.host}"
        )
        headers = [
            (str(h.get("name")), str(h.get("value")))
            for h in params.get("headers") or []
            if isinstance(h, dict) and h.get("name")
        ]
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

    def _progress(self, leg: Call, offer: sdp.SessionDescription, response: Any) -> None:
        if response.body:
            self._connect(leg, offer, response.body)
        if leg.state is CallState.CREATED:
            leg.transition(CallState.RINGING)

    def _answered(self, leg: Call, offer: sdp.SessionDescription, sip_call: SipCall) -> None:
        if sip_call.remote_sdp:
            self._connect(leg, offer, sip_call.remote_sdp)
        if leg.active:
            leg.transition(CallState.ANSWERED)

    def _connect(self, leg: Call, offer: sdp.SessionDescription, answer: bytes) -> None:
        try:
            neg = sdp.read_answer(offer, answer)
        except sdp.SdpError as exc:
            log.info("bad SDP answer on %s: %s", leg.call_id, exc)
            return
        self.node.media.connect(
            leg,
            neg.remote_host,
            neg.remote_port,
            neg.codec,
            neg.telephone_event,
            neg.rtcp_mux,
            neg.sends,
        )


def _codecs(value: object) -> list[str]:
    names = value.split(",") if isinstance(value, str) else value if isinstance(value, list) else []
    wanted = [str(n).strip().upper() for n in names if str(n).strip().upper() in ("PCMU", "PCMA")]
    return wanted or ["PCMU", "PCMA"]


def _addr_uri(header: str) -> str:
    from voxrelay.sip.message import NameAddr

    return NameAddr.parse(header).uri
