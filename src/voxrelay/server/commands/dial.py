"""``calling.dial`` (reference §1.10 "Outbound dial", §3.5). The result carries no call_id."""

from __future__ import annotations

import uuid

from voxrelay.protocol.codes import ResultCode
from voxrelay.protocol.models import DialParams
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
