"""All sessions of the server: lookup by protocol, context subscriptions per project."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable

from voxrelay.server.session import Session


class SessionRegistry:
    """Sessions by protocol string, and which sessions receive which (project, context).

    Subscribers of a context are kept in subscription order; ``next_subscriber`` hands out
    inbound calls round-robin among them.
    """

    def __init__(self, node_id: str, max_unacked: int = 10_000) -> None:
        self.node_id = node_id
        self._max_unacked = max_unacked
        self._secret = secrets.token_bytes(32)
        self._by_protocol: dict[str, Session] = {}
        self._subs: dict[tuple[str, str], list[Session]] = {}
        self._turn: dict[tuple[str, str], int] = {}

    def signature(self, project: str) -> str:
        """The per-project signature in protocol strings (hex, so it has no ``_``)."""
        return hmac.new(self._secret, project.encode(), hashlib.sha256).hexdigest()[:32]

    def create(self, project: str, *, event_acks: bool, agent: str | None = None) -> Session:
        session = Session(
            project,
            self.signature(project),
            node_id=self.node_id,
            event_acks=event_acks,
            max_unacked=self._max_unacked,
            agent=agent,
        )
        self._by_protocol[session.protocol] = session
        return session

    def resume(self, protocol: str, project: str) -> Session | None:
        """The live session named ``protocol`` if it belongs to ``project``, else None."""
        session = self._by_protocol.get(protocol)
        if session is None or session.project != project:
            return None
        return session

    def get(self, protocol: str) -> Session | None:
        return self._by_protocol.get(protocol)

    def __len__(self) -> int:
        return len(self._by_protocol)

    def all(self) -> list[Session]:
        return list(self._by_protocol.values())

    # -- contexts ---------------------------------------------------------------------

    def subscribe(self, session: Session, contexts: Iterable[str]) -> list[str]:
        """Add contexts; returns those that were new for this session."""
        added = []
        for ctx in contexts:
            if ctx in session.contexts:
                continue
            session.contexts.add(ctx)
            self._subs.setdefault((session.project, ctx), []).append(session)
            added.append(ctx)
        return added

    def unsubscribe(self, session: Session, contexts: Iterable[str]) -> None:
        for ctx in contexts:
            session.contexts.discard(ctx)
            subs = self._subs.get((session.project, ctx))
            if subs and session in subs:
                subs.remove(session)
                if not subs:
                    del self._subs[(session.project, ctx)]

    def next_subscriber(
        self, project: str, context: str, exclude: set[str] | frozenset[str] = frozenset()
    ) -> Session | None:
        """The next session (round-robin) subscribed to ``context`` not in ``exclude`` (ids).

        Connected sessions are preferred; a session whose socket is away (within its resume
        grace) only gets a call when no connected one can take it.
        """
        subs = self._subs.get((project, context), [])
        candidates = [s for s in subs if s.id not in exclude]
        connected = [s for s in candidates if s.attached]
        candidates = connected or candidates  # a session away (maybe resuming) comes last
        if not candidates:
            return None
        key = (project, context)
        turn = self._turn.get(key, 0)
        self._turn[key] = turn + 1
        return candidates[turn % len(candidates)]

    # -- expiry -----------------------------------------------------------------------

    def expire(self, grace: float, now: float | None = None) -> list[Session]:
        """Remove sessions detached for longer than ``grace`` seconds; return them."""
        now = time.monotonic() if now is None else now
        gone = [s for s in self._by_protocol.values() if s.expired(now, grace)]
        for session in gone:
            self.remove(session)
        return gone

    def remove(self, session: Session) -> None:
        self.unsubscribe(session, list(session.contexts))
        self._by_protocol.pop(session.protocol, None)
