"""``GET /api/calls/{call_id}``: any call of the project, with its media quality.

Answers ``{call_id, context, direction, device, call_state, end_reason, media?}`` where
``media`` has the leg's codec, packet counts, loss and jitter both ways (RTCP, RFC 3550) while
the call has RTP. HTTP Basic auth; another project's call is a 404.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from voxrelay.server.calls import Call
from voxrelay.server.httputil import HTTPError, authenticate, node_of


def call_view(call: Call) -> dict[str, Any]:
    view: dict[str, Any] = {
        "call_id": call.call_id,
        "context": call.context,
        "direction": call.direction.value,
        "device": call.device,
        "call_state": call.state.value,
        "end_reason": call.end_reason.value if call.end_reason else None,
    }
    if call.media is not None:
        view["media"] = call.media.leg.stats()
    return view


async def show(request: Request) -> Response:
    principal = authenticate(request)
    call = node_of(request).calls.find(principal.project, request.path_params["call_id"])
    if call is None:
        raise HTTPError(404, "no such call")
    return JSONResponse(call_view(call))


routes = [Route("/api/calls/{call_id}", show, methods=["GET"])]
