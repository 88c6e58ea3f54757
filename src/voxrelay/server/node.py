"""A node: one process owning sessions, calls and (later) their media. The composition root."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

from voxrelay.protocol.models import Device
from voxrelay.protocol.states import EndReason
from voxrelay.server.audio import AudioLoader
from voxrelay.server.auth import Authenticator
from voxrelay.server.calls import Call
from voxrelay.server.calls.registry import CallRegistry
from voxrelay.server.calls.routing import CallRouter
from voxrelay.server.config import ServerConfig, SipConfig
from voxrelay.server.media import MediaEngine
from voxrelay.server.recordings import RecordingStore
from voxrelay.server.sessions import SessionRegistry
from voxrelay.sip.useragent import UserAgent

log = logging.getLogger(__name__)


class SipPort(Protocol):
    """What the node and its handlers use of its SIP service (``server.sip_service``, which
    needs the node: the service depends on this, never the other way round)."""

    host: str
    config: SipConfig
    ua: UserAgent

    async def dial(self, leg: Call, device: Device, timeout: float) -> bool: ...

    async def stop(self) -> None: ...


@dataclass
class Node:
    """What every request handler may reach: config, auth, sessions, calls, routing."""

    config: ServerConfig
    auth: Authenticator = field(init=False)
    sessions: SessionRegistry = field(init=False)
    calls: CallRegistry = field(init=False)
    router: CallRouter = field(init=False)
    media: MediaEngine = field(init=False)
    audio: AudioLoader = field(init=False)
    recordings: RecordingStore = field(init=False)
    sip: SipPort | None = None  # started by the app when SIP is enabled
    background: set[asyncio.Task[object]] = field(default_factory=set)
    connections: set[Any] = field(default_factory=set)
    shutting_down: bool = False

    def __post_init__(self) -> None:
        cfg = self.config
        self.auth = Authenticator(cfg.projects)
        self.sessions = SessionRegistry(cfg.node_id, cfg.max_unacked_events)
        self.calls = CallRegistry()
        self.media = MediaEngine(cfg)
        self.audio = AudioLoader(cfg)
        self.recordings = RecordingStore(cfg.data_dir)
        self.router = CallRouter(
            self.sessions, self.calls, node_id=cfg.node_id, ring_timeout=cfg.ring_timeout
        )

    @property
    def base_url(self) -> str:
        """The HTTP(S) address clients reach this server at (for recording URLs)."""
        cfg = self.config
        scheme = "https" if cfg.tls else "http"
        return cfg.public_url or f"{scheme}://{cfg.host}:{cfg.port}"

    def spawn(self, coro: Coroutine[Any, Any, object], name: str) -> asyncio.Task[object]:
        """Run a background coroutine, keeping a reference and logging its failure."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self.background.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[object]) -> None:
        self.background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task %s failed", task.get_name(), exc_info=task.exception())

    def expire_sessions(self) -> int:
        """Drop sessions past the resume grace; their calls are re-offered or hung up."""
        gone = self.sessions.expire(self.config.resume_grace)
        for session in gone:
            self.router.session_gone(session)
        return len(gone)

    async def shutdown(self) -> None:
        """Refuse new sockets; tell every connected client to reconnect fresh, then close."""
        self.shutting_down = True
        for call in self.calls.active():
            call.hang_up(EndReason.HANGUP)  # ends media: recordings are finalised
        for conn in list(self.connections):
            await conn.shutdown()
        await asyncio.sleep(0.05)
        for task in list(self.background):
            task.cancel()
        await self.media.stop()

    async def housekeeping(self, interval: float = 1.0) -> None:
        while True:
            await asyncio.sleep(interval)
            self.expire_sessions()
