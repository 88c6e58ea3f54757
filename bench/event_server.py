"""Bench-only server: the real voxrelay app plus one synthetic event source.

The product has no way to emit N events on demand, so this launcher builds the real app
(``create_app(ServerConfig(...))``: real gateway, session, writer task, uvicorn on uvloop)
and adds bench routes under ``/bench``:

- ``POST /bench/emit?protocol=...&n=...&batch=...`` starts emitting ``n``
  ``calling.call.state``-shaped events to that session through the real ``Session.emit()``,
  ``batch`` at a time with ``await asyncio.sleep(0)`` between batches, and returns at once.
- ``GET /bench/wait?protocol=...&timeout=...`` waits until that emission has finished and the
  session holds no unacknowledged event (or the timeout passes) and returns the
  ``time.monotonic()`` stamps (the clock is system-wide, so the client can compare them):
  ``t_start``, ``t_emitted``, ``t_drained`` (null on timeout), plus ``unacked`` and
  ``dropped_events``. Draining is observed by polling every millisecond.
- ``GET /bench/cpu`` returns this process's user and system CPU seconds.

Only the event *source* is synthetic; everything from ``Session.emit()`` to the socket and
every ack back is the product's code path. Run::

    python bench/event_server.py --port 8790 --project P --token T [--rate-limit 500]

The uvicorn settings are those of ``voxrelay serve`` (uvloop, no permessage-deflate, no
uvicorn-level pings); keep them in step with ``src/voxrelay/cli/serve.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import time
import uuid
from pathlib import Path
from typing import Any

import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from voxrelay.protocol.events import CALL_STATE
from voxrelay.server.app import create_app
from voxrelay.server.config import Project, ServerConfig
from voxrelay.server.node import Node
from voxrelay.server.session import Session

MAX_EVENTS = 10_000_000


class Emission:
    def __init__(self) -> None:
        self.t_start = time.monotonic()
        self.t_emitted: float | None = None
        self.task: asyncio.Task[None] | None = None


_emissions: dict[str, Emission] = {}


def _session(request: Request) -> Session | None:
    node: Node = request.app.state.node
    return node.sessions.get(request.query_params.get("protocol", ""))


def _payload(call_id: str, i: int) -> dict[str, Any]:
    # the fields of a real calling.call.state (Call.describe()), with a varying state
    return {
        "call_id": call_id,
        "node_id": "bench-node",
        "segment_id": call_id,
        "tag": call_id,
        "call_state": ("created", "ringing", "answered", "ending")[i % 4],
        "direction": "inbound",
        "device": {
            "type": "phone",
            "params": {"from_number": "+15550001111", "to_number": "+15550002222"},
        },
        "context": "bench",
    }


async def _emit(session: Session, n: int, batch: int, em: Emission) -> None:
    call_id = str(uuid.uuid4())
    i = 0
    while i < n:
        for _ in range(min(batch, n - i)):
            session.emit(CALL_STATE, _payload(call_id, i))
            i += 1
        await asyncio.sleep(0)
    em.t_emitted = time.monotonic()


async def emit(request: Request) -> Response:
    session = _session(request)
    if session is None:
        return JSONResponse({"error": "no such session"}, status_code=404)
    n = min(int(request.query_params.get("n", "1000")), MAX_EVENTS)
    batch = max(1, int(request.query_params.get("batch", "100")))
    em = Emission()
    _emissions[session.protocol] = em
    em.task = asyncio.create_task(_emit(session, n, batch, em))
    return JSONResponse({"n": n, "batch": batch, "t_start": em.t_start}, status_code=202)


async def wait(request: Request) -> Response:
    session = _session(request)
    if session is None:
        return JSONResponse({"error": "no such session"}, status_code=404)
    em = _emissions.get(session.protocol)
    if em is None:
        return JSONResponse({"error": "nothing emitted"}, status_code=404)
    timeout = min(float(request.query_params.get("timeout", "30")), 600.0)
    deadline = time.monotonic() + timeout
    t_drained = None
    while time.monotonic() < deadline:
        if em.t_emitted is not None and session.unacked == 0:
            t_drained = time.monotonic()
            break
        await asyncio.sleep(0.001)
    return JSONResponse(
        {
            "t_start": em.t_start,
            "t_emitted": em.t_emitted,
            "t_drained": t_drained,
            "unacked": session.unacked,
            "dropped_events": session.dropped_events,
        }
    )


async def cpu(request: Request) -> Response:
    t = os.times()
    return JSONResponse({"user": t.user, "system": t.system})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8790)
    parser.add_argument("--project", default="bench-project")
    parser.add_argument("--token", default="PTbench")
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/voxrelay-bench"))
    parser.add_argument(
        "--rate-limit",
        type=float,
        default=None,
        help="per-connection requests/s (default: the product default, 500); 0 lifts the limit."
        " As with `voxrelay serve --rate-limit`, the burst is twice the rate. Acks never count.",
    )
    parser.add_argument("--max-unacked", type=int, default=None)
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args()
    logging.basicConfig(level=args.log_level.upper())

    cfg = ServerConfig(
        host=args.host,
        port=args.port,
        projects=[Project(args.project, args.token)],
        data_dir=args.data_dir,
        ping_interval=3600.0,
    )
    if args.rate_limit is not None:
        unlimited = args.rate_limit <= 0
        cfg.rate_limit_per_s = 1e12 if unlimited else args.rate_limit
        cfg.rate_burst = 1e12 if unlimited else 2 * args.rate_limit  # as cli/serve.py
    if args.max_unacked is not None:
        cfg.max_unacked_events = args.max_unacked
    app = create_app(cfg)
    # bench routes go first so they win over nothing in the product (all under /bench)
    app.router.routes[:0] = [
        Route("/bench/emit", emit, methods=["POST"]),
        Route("/bench/wait", wait, methods=["GET"]),
        Route("/bench/cpu", cpu, methods=["GET"]),
    ]
    # the uvicorn settings of `voxrelay serve` (src/voxrelay/cli/serve.py), minus TLS
    uvicorn.run(
        app,
        host=cfg.host,
        port=cfg.port,
        loop="uvloop",
        lifespan="on",
        log_level=args.log_level,
        ws_max_size=16 * 1024 * 1024,
        ws_per_message_deflate=False,
        timeout_graceful_shutdown=5,
        ws_ping_interval=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()
