"""A RELAY session: one client's subscription and event stream, surviving reconnects.

The session outlives its WebSocket: while the socket is away (up to the resume grace), events
pile up in order; when the client reconnects with its ``protocol``, every event it has not
acknowledged is sent again, in order (reference §1.4 rules 1-3). With ``event_acks`` an event
stays pending until the client answers it; without, it is forgotten once written.

No sockets here: the connection layer attaches a ``send`` callable and feeds acks in.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

import orjson

from voxrelay.protocol.events import build_event
from voxrelay.protocol.jsonrpc import Request, encode

log = logging.getLogger(__name__)

Sender = Callable[[str], None]
EventFramer = Callable[["Session", str, dict[str, Any], float], Request | None]
"""Frames one event for a session's dialect: ``(session, event_type, payload, timestamp)``;
None when the dialect must not see that event (see ``voxrelay.protocol.components``)."""


def signalwire_event(
    session: Session, event_type: str, payload: dict[str, Any], timestamp: float
) -> Request:
    """The ``signalwire.event`` framing of the ``signalwire.connect`` dialect (the default)."""
    return build_event(
        event_type,
        payload,
        timestamp=timestamp,
        channel=session.protocol,
        project_id=session.project,
        node_id=session.node_id,
    )


class Session:
    """One client session of a project, named by its protocol string.

    ``protocol`` has the form ``signalwire_<signature>_<uuid>_<project>`` (reference §1.4).
    """

    def __init__(
        self,
        project: str,
        signature: str,
        *,
        node_id: str,
        event_acks: bool,
        max_unacked: int = 10_000,
        agent: str | None = None,
    ) -> None:
        self.project = project
        self.signature = signature
        self.id = str(uuid.uuid4())
        self.protocol = f"signalwire_{signature}_{self.id}_{project}"
        self.node_id = node_id
        self.event_acks = event_acks
        self.agent = agent
        self.contexts: set[str] = set()
        self.detached_at: float | None = time.monotonic()
        self._send: Sender | None = None
        self._held: list[str] | None = None
        self.owner: object | None = None
        self._pending: OrderedDict[str, str] = OrderedDict()
        self._max_unacked = max_unacked
        self.dropped_events = 0
        self._results: OrderedDict[str, bytes] = OrderedDict()  # bytes: no GC tracking
        self.frame_event: EventFramer = signalwire_event  # the Blade dialect swaps this

    # -- connection -------------------------------------------------------------------

    @property
    def attached(self) -> bool:
        return self._send is not None

    def attach(self, send: Sender, owner: object = None) -> object | None:
        """Bind a live socket; resend every unacknowledged event in order.

        ``owner`` is the connection object; the previous owner (a stale socket the client has
        replaced) is returned so the caller can close it.
        """
        previous = self.owner
        self._send = send
        self.owner = owner
        self.detached_at = None
        for frame in self._pending.values():
            send(frame)
        if not self.event_acks:
            self._pending.clear()
        return previous if previous is not owner else None

    def detach(self, owner: object = None) -> None:
        """The socket of ``owner`` is gone; keep collecting events until resumed or expired.

        A no-op when another connection has taken the session over meanwhile.
        """
        if owner is not None and owner is not self.owner:
            return
        self._send = None
        self.owner = None
        self.detached_at = time.monotonic()

    def expired(self, now: float, grace: float) -> bool:
        return self.detached_at is not None and now - self.detached_at >= grace

    # -- requests -----------------------------------------------------------------------

    def result_for(self, request_id: str) -> dict[str, Any] | None:
        """The result already given to request ``request_id`` (a client resending after resume)."""
        raw = self._results.get(request_id)
        return None if raw is None else dict(orjson.loads(raw))

    def remember_result(self, request_id: str, result: dict[str, Any], keep: int = 256) -> None:
        """Keep the last ``keep`` results so a resent request is answered, not executed twice.

        Stored encoded, so thousands of sessions' memories cost the garbage collector nothing.
        """
        self._results[request_id] = orjson.dumps(result)
        if len(self._results) > keep:
            self._results.popitem(last=False)

    # -- events -----------------------------------------------------------------------

    def emit(self, event_type: str, payload: dict[str, Any]) -> str:
        """Queue one event (``signalwire.event``, or its dialect's form). Returns its id, or
        ``""`` when the session's dialect does not receive that event."""
        request = self.frame_event(self, event_type, payload, time.time())
        if request is None:
            return ""
        frame = encode(request)
        event_id = str(request.id)
        if self.event_acks or self._send is None:
            self._remember(event_id, frame)
        if self._held is not None:
            self._held.append(frame)
        elif self._send is not None:
            self._send(frame)
        return event_id

    @contextlib.contextmanager
    def results_first(self) -> Iterator[None]:
        """Hold events emitted while a request runs, so its result goes out first.

        Clients expect a command's result before the events it causes (the npm SDK relies on
        it); the caller sends the result inside the block, the held events follow it.
        """
        if self._held is not None:  # already holding (a nested request)
            yield
            return
        self._held = []
        try:
            yield
        finally:
            held, self._held = self._held, None
            if self._send is not None:
                for frame in held:
                    self._send(frame)

    def ack(self, event_id: str) -> bool:
        """The client answered event ``event_id``; forget it. False if unknown."""
        return self._pending.pop(event_id, None) is not None

    @property
    def unacked(self) -> int:
        return len(self._pending)

    def _remember(self, event_id: str, frame: str) -> None:
        self._pending[event_id] = frame
        if len(self._pending) > self._max_unacked:
            self._pending.popitem(last=False)
            self.dropped_events += 1
            if self.dropped_events in (1, 100, 10_000):
                log.warning(
                    "session %s: over %d unacknowledged events, dropped the oldest (%d so far)",
                    self.id,
                    self._max_unacked,
                    self.dropped_events,
                )
