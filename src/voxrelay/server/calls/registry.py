"""All calls of the server, with project isolation and memory of recently ended calls."""

from __future__ import annotations

from collections import OrderedDict

from voxrelay.server.calls.call import Call


class CallNotFound(LookupError):
    """No such call in this project (RELAY code "404")."""

    code = "404"


class CallGone(LookupError):
    """The call existed but has ended (RELAY code "410")."""

    code = "410"


class CallRegistry:
    """Live calls by id. Ended calls move to a bounded memory: 410 for commands, still readable."""

    def __init__(self, remember_ended: int = 10_000) -> None:
        self._calls: dict[str, Call] = {}
        self._ended: OrderedDict[str, Call] = OrderedDict()
        self._remember = remember_ended

    def add(self, call: Call) -> None:
        self._calls[call.call_id] = call

    def __len__(self) -> int:
        return len(self._calls)

    def active(self, project: str | None = None) -> list[Call]:
        return [c for c in self._calls.values() if project is None or c.project == project]

    def lookup(self, project: str, call_id: str) -> Call:
        """The live call ``call_id`` of ``project``. Raises CallNotFound or CallGone.

        A call of another project is reported exactly like a call that never existed.
        """
        call = self._calls.get(call_id)
        if call is not None and call.project == project:
            if call.ended:
                raise CallGone(call_id)
            return call
        ended = self._ended.get(call_id)
        if ended is not None and ended.project == project:
            raise CallGone(call_id)
        raise CallNotFound(call_id)

    def find(self, project: str, call_id: str) -> Call | None:
        """Like lookup, but None instead of raising; ended calls still in memory are returned."""
        call = self._calls.get(call_id) or self._ended.get(call_id)
        return call if call is not None and call.project == project else None

    def forget(self, call: Call) -> None:
        """Drop an ended call, remembering its id for 410 answers."""
        self._calls.pop(call.call_id, None)
        self._ended[call.call_id] = call
        if len(self._ended) > self._remember:
            self._ended.popitem(last=False)
