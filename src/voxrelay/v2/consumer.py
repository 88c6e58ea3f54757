"""``Relay.Consumer`` of the 2.x API (reference §5.1).

``from voxrelay.v2.consumer import Consumer`` replaces ``from signalwire.relay.consumer import
Consumer``. Subclass it, set ``project``, ``token``, ``contexts`` (and ``host``) in ``setup()``
or pass them as keywords, write ``async def on_incoming_call(self, call)``, then ``run()``.
"""

from __future__ import annotations

import inspect
from typing import Any

from voxrelay.v2.calling.call import Call
from voxrelay.v2.client import Client


class Consumer:
    """Hooks: ``setup()``, ``ready()``, ``on_incoming_call(call)``, ``teardown()``."""

    project: str | None = None
    token: str | None = None
    host: str | None = None
    contexts: list[str] | None = None

    def __init__(self, **kwargs: Any) -> None:
        for key, value in kwargs.items():
            setattr(self, key, value)
        self.client: Client | None = None
        self.setup()
        if not self.project or not self.token or not self.contexts:
            raise ValueError("Consumer needs project, token and contexts")

    def setup(self) -> None:
        """Set ``project``, ``token``, ``host``, ``contexts`` here."""

    async def ready(self) -> None:
        """Called once connected and receiving on ``contexts``."""

    async def on_incoming_call(self, call: Call) -> None:
        """An inbound call on one of the contexts."""

    async def teardown(self) -> None:
        """Called when the consumer stops."""

    def run(self) -> None:
        """Connect and serve calls until SIGINT/SIGTERM (blocking)."""
        import asyncio
        import contextlib

        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(self.run_async())

    async def run_async(self) -> None:
        """The body of ``run()`` for callers that have an event loop (voxrelay extension)."""
        assert self.project and self.token and self.contexts
        client = Client(self.project, self.token, self.host, contexts=list(self.contexts))
        self.client = client
        for context in self.contexts:
            client.calling._handlers[context] = self.on_incoming_call
        client.on("ready", lambda _: self.ready())
        try:
            await client.run_async()
        finally:
            out = self.teardown()
            if inspect.isawaitable(out):
                await out
