"""``POST /api/virtual/phones``: a virtual phone waits for calls (see voxrelay.server.phones)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from voxrelay.protocol.models import Open
from voxrelay.protocol.states import CallState, EndReason
from voxrelay.server.httputil import HTTPError, authenticate, json_body, node_of
from voxrelay.server.media import MediaOffer
from voxrelay.server.phones import AlreadyRegistered, RegisteredPhone


class RegisterBody(Open):
    number: str = Field(min_length=1, max_length=64)
    media: MediaOffer


async def register(request: Request) -> Response:
    principal = authenticate(request)
    body = await json_body(request, RegisterBody)
    registry = node_of(request).phones
    phone = RegisteredPhone(principal.project, body.number, body.media)
    try:
        registry.register(phone)
    except AlreadyRegistered:
        raise HTTPError(409, f"a phone is already registered for {body.number}", "number") from None

    async def notices() -> AsyncIterator[str]:
        try:
            yield json.dumps({"event": "registered", "number": phone.number}) + "\n"
            while True:
                notice = await phone.notices.get()
                yield json.dumps(notice) + "\n"
        finally:
            registry.unregister(phone)
            if phone.current is not None and phone.current.state is CallState.RINGING:
                phone.current.hang_up(EndReason.NO_ANSWER)

    return StreamingResponse(notices(), media_type="application/x-ndjson")


routes = [Route("/api/virtual/phones", register, methods=["POST"])]
