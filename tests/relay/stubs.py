"""An in-memory stand-in for RelayClient.execute: records requests, returns canned results.

Not a server: it only lets Call/Action logic be tested without sockets.
"""

from __future__ import annotations

from typing import Any

JsonDict = dict[str, Any]


class RecordingExecutor:
    def __init__(self, result: JsonDict | None = None) -> None:
        self.sent: list[tuple[str, JsonDict]] = []
        self.result = result if result is not None else {"code": "200", "message": "OK"}

    async def execute(self, method: str, params: JsonDict) -> JsonDict:
        self.sent.append((method, params))
        return dict(self.result)
