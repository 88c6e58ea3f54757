"""What REST commands do: RELAY handlers for ``calling.*``, REST dial/update with SWML.

A REST request acts as a ``RestPrincipal``: a requester with the project but no RELAY
session. ``calling.*`` commands run the very handlers RELAY clients reach (``METHODS``), so a
call keeps its controller (the RELAY session that answered or dialled it) and that session
still gets every event; a command's ``status_url`` gets the events of the component it
started, as webhooks. ``dial`` makes an outbound leg controlled by no session (events only
go to its ``status_url``) and rings ``to`` like ``calling.dial`` does (a number owned by a
context, or a registered virtual phone); once answered, its SWML document runs.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel

from voxrelay.protocol.models import Device, MediaItem
from voxrelay.protocol.states import CallState, Direction, EndReason
from voxrelay.server import swml
from voxrelay.server.calls import Call, CallGone, CallNotFound
from voxrelay.server.dispatch import METHODS, CommandError, RequestContext
from voxrelay.server.node import Node
from voxrelay.server.rest.errors import RestError
from voxrelay.server.rest.models import CallLeg, DialParams, UpdateParams
from voxrelay.server.rest.webhooks import CallStatusHook, Webhooks, tap_component
from voxrelay.server.targets import DialTargets

log = logging.getLogger(__name__)
JsonDict = dict[str, Any]


@dataclass(slots=True)
class RestPrincipal:
    """A REST request's requester: the project, no session. Events a handler would send
    to the requester itself go to ``status_url`` if there is one, else nowhere."""

    project: str
    webhooks: Webhooks
    status_url: str | None = None

    def emit(self, event_type: str, payload: JsonDict) -> str:
        if self.status_url is not None:
            self.webhooks.send(self.status_url, self.project, event_type, payload)
        return str(uuid.uuid4())


@dataclass
class RestCall:
    """A call made by REST ``dial``: its document and webhook."""

    call: Call
    principal: RestPrincipal
    document_url: str | None
    url_method: str
    fallback_url: str | None
    sections: dict[str, list[Any]] | None
    hook: CallStatusHook | None
    runner: asyncio.Task[object] | None = None
    seen_answer: bool = field(default=False)


class RestService:
    """REST calling for one node (kept in ``app.state.rest``)."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.webhooks = Webhooks(node)
        self.calls: dict[str, RestCall] = {}

    def principal(self, project: str, status_url: str | None = None) -> RestPrincipal:
        return RestPrincipal(project, self.webhooks, status_url)

    def find(self, project: str, call_id: str) -> Call:
        """A call of the project, live or recently ended; 404 otherwise (other projects too)."""
        call = self.node.calls.find(project, call_id)
        if call is None:
            raise RestError(404, f"call {call_id} not found", code="call_not_found", attribute="id")
        return call

    # -- calling.* --------------------------------------------------------------------------

    async def command(self, project: str, name: str, call_id: str, params: BaseModel) -> JsonDict:
        """Run RELAY handler ``name`` on ``call_id``; the response is the call's leg merged
        with the handler's result. Raises RestError."""
        try:
            call = self.node.calls.lookup(project, call_id)
        except CallNotFound:
            raise RestError(
                404, f"call {call_id} not found", code="call_not_found", attribute="id"
            ) from None
        except CallGone:
            raise RestError(
                404, f"call {call_id} has ended", code="call_ended", attribute="id"
            ) from None
        extra = params.model_extra or {}
        status_url = getattr(params, "status_url", None)
        if hasattr(params, "control_id") and params.control_id is None:
            params.control_id = str(uuid.uuid4())
        if name == "calling.play":
            _apply_tts_defaults(params, extra)
        params.call_id = call_id  # type: ignore[attr-defined]
        tap = None
        if status_url and getattr(params, "control_id", None):
            tap = tap_component(self.webhooks, call, params.control_id, status_url)  # type: ignore[attr-defined]
        ctx = RequestContext(self.node, self.principal(project, status_url))
        try:
            result = await METHODS[name].handler(ctx, params)
        except CommandError as exc:
            if tap is not None and tap in call.event_taps:
                call.event_taps.remove(tap)
            raise RestError.from_relay(exc.code, exc.message) from None
        return {**self.leg(call), **result}

    # -- dial / update ------------------------------------------------------------------------

    async def dial(self, project: str, params: DialParams) -> JsonDict:
        node = self.node
        if len(node.calls) >= node.config.max_calls:
            raise RestError(503, "too many active calls on this server", code="capacity")
        sections = None
        if params.swml is not None:
            sections = _parse(params.swml, "swml")
        device = _device(params)
        leg = node.router.new_call(
            project,
            Direction.OUTBOUND,
            {"type": device.type, "params": device.params},
            created_by="rest",
        )
        principal = self.principal(project, params.status_url)
        hook = (
            CallStatusHook(self.webhooks, leg, params.status_url, list(params.status_events))
            if params.status_url
            else None
        )
        rest_call = RestCall(
            leg, principal, params.url, params.url_method, params.fallback_url, sections, hook
        )
        self.calls[leg.call_id] = rest_call
        leg.watchers.append(lambda call: self._changed(rest_call))
        leg.emit("calling.call.state", leg.describe())
        if not await DialTargets(node).reach(leg, device):
            leg.hang_up(EndReason.NOT_FOUND)
        return self.leg(leg)

    async def update(self, project: str, params: UpdateParams) -> JsonDict:
        call = self.find(project, params.id)
        rest_call = self.calls.get(call.call_id)
        if params.status_url is not None:
            if rest_call is None:
                raise RestError(
                    409,
                    "status_url can only be changed on calls made by REST dial",
                    attribute="status_url",
                )
            if rest_call.hook is not None:
                rest_call.hook.url = params.status_url
            else:
                rest_call.hook = CallStatusHook(self.webhooks, call, params.status_url, ["ended"])
        if params.status == "canceled":
            if call.state not in (CallState.CREATED, CallState.RINGING):
                raise RestError(409, f"only a ringing call can be canceled; it is {call.state}")
            call.hang_up(EndReason.CANCEL)
        elif params.status == "completed":
            if call.state is not CallState.ANSWERED:
                raise RestError(409, f"only an answered call can be completed; it is {call.state}")
            call.hang_up(EndReason.HANGUP)
        elif params.url is not None or params.swml is not None:
            if rest_call is None:
                raise RestError(
                    409, "the call is controlled by a RELAY session, not by REST", attribute="id"
                )
            if call.state is not CallState.ANSWERED:
                raise RestError(409, f"only an answered call can be redirected; it is {call.state}")
            rest_call.sections = None if params.swml is None else _parse(params.swml, "swml")
            rest_call.document_url = params.url
            rest_call.fallback_url = params.fallback_url
            self._run(rest_call)
        return self.leg(call)

    def _changed(self, rest_call: RestCall) -> None:
        call = rest_call.call
        if call.state is CallState.ANSWERED and not rest_call.seen_answer:
            rest_call.seen_answer = True
            self._run(rest_call)
        elif call.ended:
            if rest_call.runner is not None:
                rest_call.runner.cancel()
            self.calls.pop(call.call_id, None)

    def _run(self, rest_call: RestCall) -> None:
        if rest_call.runner is not None:
            rest_call.runner.cancel()
        rest_call.runner = self.node.spawn(
            self._execute(rest_call), f"swml {rest_call.call.call_id}"
        )

    async def _execute(self, rest_call: RestCall) -> None:
        call = rest_call.call
        sections = rest_call.sections
        if sections is None:
            sections = await self._fetch(rest_call)
            if sections is None:
                call.hang_up(EndReason.ERROR)
                return
        interpreter = swml.Interpreter(self.node, rest_call.principal, call, sections)
        await interpreter.run()

    async def _fetch(self, rest_call: RestCall) -> dict[str, list[Any]] | None:
        info = self.leg(rest_call.call)
        for url in (rest_call.document_url, rest_call.fallback_url):
            if url is None:
                continue
            try:
                text = await swml.fetch(self.node, url, rest_call.url_method, info)
                return swml.parse(text)
            except swml.SwmlError as exc:
                log.info("call %s: SWML from %s: %s", rest_call.call.call_id, url, exc)
        return None

    # -- views -----------------------------------------------------------------------------------

    def leg(self, call: Call) -> JsonDict:
        """The CallLeg of ``call`` (reference §6.1)."""
        params = call.device.get("params", {})
        rest_call = self.calls.get(call.call_id)
        end = call.ended_at if call.ended_at is not None else None
        duration_ms = (
            int(((end or datetime.now(UTC).timestamp()) - call.answered_at) * 1000)
            if call.answered_at is not None
            else None
        )
        direction: Literal["inbound", "outbound", "outbound-api"] = (
            "outbound-api" if call.created_by == "rest" else call.direction.value
        )
        leg = CallLeg(
            id=call.call_id,
            from_=params.get("from_number") or params.get("from"),
            to=params.get("to_number") or params.get("to"),
            direction=direction,
            status=_status(call),
            url=rest_call.document_url if rest_call is not None else None,
            created_at=datetime.fromtimestamp(call.created_at, UTC).isoformat(),
            duration=None if duration_ms is None else duration_ms // 1000,
            duration_ms=duration_ms,
            billing_ms=duration_ms,
            type="relay_sip_call" if call.device.get("type") == "sip" else "relay_pstn_call",
        )
        return leg.model_dump(mode="json", by_alias=True, exclude_none=False)


def _status(call: Call) -> str:
    if not call.ended:
        return call.state.value
    reason = call.end_reason
    if reason in (EndReason.NOT_FOUND, EndReason.ERROR):
        return "failed"
    if reason is EndReason.CANCEL and call.answered_at is None:
        return "canceled"
    return "completed"


def _parse(document: object, attribute: str) -> dict[str, list[Any]]:
    try:
        return swml.parse(document)
    except swml.SwmlError as exc:
        path = f"{attribute}.{exc.path}" if exc.path else attribute
        raise RestError(422, str(exc), code="invalid_swml", attribute=path) from None


def _device(params: DialParams) -> Device:
    """``to`` as a dial device: ``sip:`` URIs are sip devices, anything else a number."""
    timeout = params.timeout
    caller = params.caller_id or params.from_
    if params.to.startswith(("sip:", "sips:")):
        sip: JsonDict = {"to": params.to, "from": caller, "timeout": timeout}
        if params.codecs:
            codecs = params.codecs
            sip["codecs"] = codecs.split(",") if isinstance(codecs, str) else codecs
        return Device(type="sip", params=sip)
    return Device(
        type="phone", params={"to_number": params.to, "from_number": caller, "timeout": timeout}
    )


def _apply_tts_defaults(params: BaseModel, extra: JsonDict) -> None:
    """Request-level ``language``/``voice``/``gender`` fill tts items that lack them."""
    defaults = {k: getattr(params, k, None) for k in ("language", "voice", "gender")}
    defaults = {k: v for k, v in defaults.items() if v is not None}
    if not defaults:
        return
    items: list[MediaItem] = params.play  # type: ignore[attr-defined]
    for item in items:
        if item.type == "tts":
            item.params = {**defaults, **item.params}
