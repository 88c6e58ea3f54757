"""The ASGI app: RELAY WebSocket at ``/`` and HTTP on the same port."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from voxrelay import __version__
from voxrelay.server import call_http, originate, phone_http, recording_http, rest
from voxrelay.server.config import ServerConfig
from voxrelay.server.gateway import relay_endpoint
from voxrelay.server.httputil import HTTPError
from voxrelay.server.node import Node
from voxrelay.server.sip_service import SipService

log = logging.getLogger(__name__)


async def index(request: Request) -> Response:
    node: Node = request.app.state.node
    return JSONResponse(
        {
            "service": "voxrelay",
            "version": __version__,
            "node_id": node.config.node_id,
            "relay": "connect a RELAY client over WebSocket to this same address",
        }
    )


async def healthz(request: Request) -> Response:
    node: Node = request.app.state.node
    return JSONResponse({"ok": True, "sessions": len(node.sessions), "calls": len(node.calls)})


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPError)
    return exc.response()


async def start_sip(node: Node) -> None:
    """Listen for SIP (UDP and TCP); a busy port disables SIP with a warning, not a crash."""
    if not node.config.sip.enabled:
        return
    service = SipService(node)
    try:
        await service.start()
    except OSError as exc:
        log.warning(
            "SIP disabled: cannot listen on %s:%s (%s)", service.host, node.config.sip.port, exc
        )
        return
    node.sip = service


def create_app(config: ServerConfig) -> Starlette:
    """Build the server app for ``config``; the node lives in ``app.state.node``."""
    node = Node(config)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        node.spawn(node.housekeeping(), "housekeeping")
        await start_sip(node)
        yield
        await node.shutdown()
        if node.sip is not None:
            await node.sip.stop()
        await asyncio.sleep(0)

    app = Starlette(
        routes=[
            Route("/", index),
            WebSocketRoute("/", relay_endpoint),
            Route("/healthz", healthz),
            *originate.routes,
            *call_http.routes,
            *recording_http.routes,
            *phone_http.routes,
            *rest.routes,
        ],
        exception_handlers={HTTPError: http_error},
        lifespan=lifespan,
    )
    app.state.node = node
    return app
