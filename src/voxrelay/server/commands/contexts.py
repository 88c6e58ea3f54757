"""``signalwire.receive`` / ``signalwire.unreceive`` / ``calling.receive`` and ``signalwire.ping``."""

from __future__ import annotations

import time

from voxrelay.protocol.models import ContextsParams, Open, PingParams, validate
from voxrelay.server.dispatch import JsonDict, RequestContext, method, ok, relay_session


@method("signalwire.receive", ContextsParams)
async def receive(ctx: RequestContext, params: ContextsParams) -> JsonDict:
    """Subscribe the session to more contexts; calls waiting there are offered at once."""
    session = relay_session(ctx)
    added = ctx.node.sessions.subscribe(session, params.contexts)
    ctx.node.router.subscribed(session, added)
    return ok("Receiving events")


class LegacyReceiveParams(Open):
    context: str | None = None
    contexts: list[str] | None = None


@method("calling.receive", LegacyReceiveParams)
async def legacy_receive(ctx: RequestContext, params: LegacyReceiveParams) -> JsonDict:
    """The per-service form ``{context?, contexts?}``."""
    names = list(params.contexts or []) + ([params.context] if params.context else [])
    return await receive(ctx, validate(ContextsParams, {"contexts": names}))


@method("signalwire.unreceive", ContextsParams)
async def unreceive(ctx: RequestContext, params: ContextsParams) -> JsonDict:
    ctx.node.sessions.unsubscribe(relay_session(ctx), params.contexts)
    return ok("Unreceiving events")


@method("signalwire.ping", PingParams)
async def ping(ctx: RequestContext, params: PingParams) -> JsonDict:
    """Answer a client ping, echoing its timestamp (or now)."""
    return {"timestamp": params.timestamp if params.timestamp is not None else time.time()}
