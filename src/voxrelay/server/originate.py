"""Placing signalling-only calls into a context over HTTP (tests and benchmarks).

``POST /api/virtual/calls`` ``{"context", "from", "to", "ring_timeout"?}`` (Basic auth) makes
an inbound call to ``context``, as a phone calling one of your numbers would, and returns it.
``GET /api/virtual/calls/{id}`` reads its state, ``GET .../events`` streams its progress as
NDJSON (one ``{"call_id","call_state","end_reason","time"}`` per line, ending at ``ended``),
``DELETE`` hangs up as the caller. These calls have no media: media commands on them answer
409. Calls with audio come from SIP (a virtual phone, ``voxrelay call``, or any softphone).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from voxrelay.protocol.models import Open
from voxrelay.protocol.states import Direction
from voxrelay.server.call_http import call_view
from voxrelay.server.calls import Call
from voxrelay.server.calls.far_end import VirtualCaller
from voxrelay.server.httputil import HTTPError, authenticate, json_body, node_of


class OriginateBody(Open):
    context: str = Field(min_length=1, max_length=128)
    from_: str = Field(alias="from", min_length=1, max_length=256)
    to: str = Field(min_length=1, max_length=256)
    ring_timeout: float | None = Field(default=None, gt=0, le=600)


def _caller(request: Request) -> tuple[Call, VirtualCaller]:
    principal = authenticate(request)
    node = node_of(request)
    call = node.calls.find(principal.project, request.path_params["call_id"])
    if call is None or not isinstance(call.far_end, VirtualCaller):
        raise HTTPError(404, "no such call")
    return call, call.far_end


async def create(request: Request) -> Response:
    principal = authenticate(request)
    body = await json_body(request, OriginateBody)
    node = node_of(request)
    if len(node.calls) >= node.config.max_calls:
        raise HTTPError(503, "too many active calls on this server")
    device = {"type": "phone", "params": {"from_number": body.from_, "to_number": body.to}}
    caller = VirtualCaller()
    call = node.router.new_call(principal.project, Direction.INBOUND, device, context=body.context)
    call.far_end = caller
    caller.on_state(call)
    view = call_view(call)
    node.router.ring(call, body.ring_timeout)
    view["call_state"] = call.state.value
    return JSONResponse(view, status_code=201)


async def show(request: Request) -> Response:
    call, _ = _caller(request)
    return JSONResponse(call_view(call))


async def hang_up(request: Request) -> Response:
    call, caller = _caller(request)
    caller.hang_up()
    return JSONResponse(call_view(call))


async def events(request: Request) -> Response:
    _call, caller = _caller(request)

    async def lines() -> AsyncIterator[str]:
        while True:
            update = await caller.updates.get()
            yield json.dumps(update) + "\n"
            if update["call_state"] == "ended":
                return

    return StreamingResponse(lines(), media_type="application/x-ndjson")


routes = [
    Route("/api/virtual/calls", create, methods=["POST"]),
    Route("/api/virtual/calls/{call_id}", show, methods=["GET"]),
    Route("/api/virtual/calls/{call_id}", hang_up, methods=["DELETE"]),
    Route("/api/virtual/calls/{call_id}/events", events, methods=["GET"]),
]
