"""The ASGI app: RELAY WebSocket at ``/`` and HTTP on the same port."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from voxrelay import __version__
from voxrelay.server import call_http, originate, phone_http, recording_http
from voxrelay.server.config import ServerConfig
from voxrelay.server.gateway import relay_endpoint
from voxrelay.server.httputil import HTTPError
from voxrelay.server.node import Node


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


def create_app(config: ServerConfig) -> Starlette:
    """Build the server app for ``config``; the node lives in ``app.state.node``."""
    node = Node(config)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        node.spawn(node.housekeeping(), "housekeeping")
        yield
        await node.shutdown()
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
        ],
        exception_handlers={HTTPError: http_error},
        lifespan=lifespan,
    )
    app.state.node = node
    return app
