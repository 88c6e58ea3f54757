"""``GET /api/virtual/sip``: where a virtual phone finds the server's SIP service.

Answers (HTTP Basic ``project:token``) ``{"host", "port", "transports": ["udp", "tcp"],
"realm"}``: the address the SIP endpoint listens on (a wildcard bind answers with the host
the request was made to) and the digest realm. 404 when SIP is disabled (``--no-sip``). The
phone then calls in with INVITE and registers with REGISTER, as the project (see
``voxrelay.server.sip_service``).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from voxrelay.server.httputil import HTTPError, authenticate, node_of

WILDCARDS = ("0.0.0.0", "::", "")


async def sip_address(request: Request) -> Response:
    authenticate(request)
    service = node_of(request).sip
    if service is None:
        raise HTTPError(404, "SIP is disabled on this server")
    host = service.host
    if host in WILDCARDS:
        host = request.url.hostname or "127.0.0.1"
    return JSONResponse(
        {
            "host": host,
            "port": service.ua.endpoint.port,
            "transports": ["udp", "tcp"],
            "realm": service.config.realm,
        }
    )


routes = [Route("/api/virtual/sip", sip_address, methods=["GET"])]
