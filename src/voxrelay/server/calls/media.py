"""A call's media: its leg, its RTP socket and the components attached under control_ids.

``server.media.MediaEngine.attach`` gives a call its ``CallMedia``; RELAY command modules
find the leg and its components in ``call.media``.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from voxrelay.media.leg import Leg
from voxrelay.media.rtpio import RtpHandle
from voxrelay.media.transport import RtpTransport

log = logging.getLogger(__name__)
DRAIN_TIMEOUT = 30.0
RtpLink = RtpTransport | RtpHandle  # a leg's socket: event-loop transport or batched set


@dataclass
class CallMedia:
    """A call's leg and the components attached to it under their control_ids.

    ``closers`` run when the call ends; awaitable ones (recordings being written) are
    awaited, at most ``DRAIN_TIMEOUT`` seconds, before the call reports ``ended``.
    """

    leg: Leg
    transport: RtpLink
    components: dict[str, Any] = field(default_factory=dict)
    closers: list[Callable[[], object]] = field(default_factory=list)

    async def drain(self) -> None:
        pending = []
        for closer in self.closers:
            try:
                result = closer()
            except Exception:
                log.exception("closing a media component failed")
                continue
            if inspect.isawaitable(result):
                pending.append(result)
        self.closers.clear()
        if pending:
            try:
                async with asyncio.timeout(DRAIN_TIMEOUT):
                    await asyncio.gather(*pending, return_exceptions=True)
            except TimeoutError:
                log.error("media components took over %s s to close", DRAIN_TIMEOUT)
        self.transport.close()
