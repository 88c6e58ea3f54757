"""``calling.dial`` (reference §1.10 "Outbound dial", §3.5). The result carries no call_id.

``calling.begin`` is the deprecated single-device dial of the 2.x SDK (reference §5.2): the
same dial machinery, but its result names the new leg (``call_id``, ``node_id``).
"""

from __future__ import annotations

import uuid

from voxrelay.protocol.codes import ResultCode
from voxrelay.protocol.models import Device, DialParams, Open, validate
from voxrelay.server.calls.dial import Dial
from voxrelay.server.dispatch import CommandError, JsonDict, RequestContext, method, ok
from voxrelay.server.targets import DialTargets


@method("calling.dial", DialParams)
async def dial(ctx: RequestContext, params: DialParams) -> JsonDict:
    node = ctx.node
    if len(node.calls) >= node.config.max_calls:
        raise CommandError(ResultCode.TOO_MANY, "too many active calls on this server")
    tag = params.tag or str(uuid.uuid4())
    job = Dial(node.router, ctx.session, ctx.project, params, DialTargets(node).reach, tag)
    node.spawn(job.run(), f"dial {tag}")
    return ok("Dialing", tag=tag)


class BeginParams(Open):
    """``calling.begin``: ``{tag?, device}``, one device."""

    tag: str | None = None
    device: Device
    region: str | None = None
    max_duration: int | None = None


@method("calling.begin", BeginParams)
async def begin(ctx: RequestContext, params: BeginParams) -> JsonDict:
    node = ctx.node
    if len(node.calls) >= node.config.max_calls:
        raise CommandError(ResultCode.TOO_MANY, "too many active calls on this server")
    tag = params.tag or str(uuid.uuid4())
    dial_params = validate(DialParams, {"tag": tag, "devices": [[params.device.model_dump()]]})
    job = Dial(node.router, ctx.session, ctx.project, dial_params, DialTargets(node).reach, tag)
    leg = job.begin()
    node.spawn(job.run(), f"begin {tag}")
    return ok("Call started", call_id=leg.call_id, node_id=leg.node_id, tag=tag)
