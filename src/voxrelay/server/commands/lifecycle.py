"""``calling.answer``, ``calling.end`` and ``calling.pass`` (reference §2.1)."""

from __future__ import annotations

from voxrelay.protocol.codes import ResultCode
from voxrelay.protocol.models import AnswerParams, CallRef, EndParams, PassParams
from voxrelay.protocol.states import CallState, Direction
from voxrelay.server.calls import Call, CallGone, CallNotFound
from voxrelay.server.dispatch import CommandError, JsonDict, RequestContext, method, ok


def find_call(ctx: RequestContext, params: CallRef) -> Call:
    """The live call named by ``params`` in the session's project; 404/410 otherwise."""
    try:
        return ctx.node.calls.lookup(ctx.project, params.call_id)
    except CallNotFound:
        raise CommandError(ResultCode.NOT_FOUND, f"call {params.call_id} not found") from None
    except CallGone:
        raise CommandError(ResultCode.GONE, f"call {params.call_id} has ended") from None


@method("calling.answer", AnswerParams)
async def answer(ctx: RequestContext, params: AnswerParams) -> JsonDict:
    call = find_call(ctx, params)
    if call.direction is not Direction.INBOUND:
        raise CommandError(ResultCode.BAD_REQUEST, "only inbound calls can be answered")
    if not call.active:
        raise CommandError(ResultCode.GONE, f"call {call.call_id} is ending")
    if call.state is not CallState.ANSWERED:
        call.controller = ctx.session
        ctx.node.router.answered(call)
    return ok("Answered")


@method("calling.end", EndParams)
async def end(ctx: RequestContext, params: EndParams) -> JsonDict:
    call = find_call(ctx, params)
    call.hang_up(params.reason)
    return ok("Disconnecting call")


@method("calling.pass", PassParams)
async def pass_(ctx: RequestContext, params: PassParams) -> JsonDict:
    call = find_call(ctx, params)
    if call.direction is not Direction.INBOUND or call.state is CallState.ANSWERED:
        raise CommandError(ResultCode.CONFLICT, "only an unanswered inbound call can be passed")
    if call.controller is not ctx.session:
        raise CommandError(ResultCode.CONFLICT, "the call is not offered to this session")
    ctx.node.router.pass_call(call)
    return ok("Passing call")
