"""What every media command needs: the call's media and its components by control_id."""

from __future__ import annotations

from typing import TypeVar

from voxrelay.protocol.codes import ResultCode
from voxrelay.protocol.models import CallRef, ControlRef
from voxrelay.server.commands.lifecycle import find_call
from voxrelay.server.dispatch import CommandError, RequestContext
from voxrelay.server.media import CallMedia

T = TypeVar("T")


def call_media(ctx: RequestContext, params: CallRef) -> CallMedia:
    """The media of the call named in ``params``: 404/410 for the call, 409 if it has none."""
    call = find_call(ctx, params)
    if call.media is None:
        raise CommandError(ResultCode.CONFLICT, f"call {call.call_id} has no media")
    return call.media


def new_control_id(media: CallMedia, control_id: str) -> None:
    """Refuse a control_id already running on this call (409)."""
    if control_id in media.components:
        raise CommandError(ResultCode.CONFLICT, f"control_id {control_id} is already in use")


def component(ctx: RequestContext, params: ControlRef, kind: type[T]) -> T:
    """The running component ``params.control_id`` of type ``kind``; 404 if there is none."""
    media = call_media(ctx, params)
    found = media.components.get(params.control_id)
    if not isinstance(found, kind):
        raise CommandError(
            ResultCode.NOT_FOUND,
            f"no running {kind.__name__.lower()} with control_id {params.control_id}",
        )
    return found
