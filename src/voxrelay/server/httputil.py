"""Small HTTP helpers shared by the server's JSON endpoints: auth, JSON bodies, errors."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse

from voxrelay.protocol.models import InvalidParams, validate
from voxrelay.server.auth import AuthError, Principal
from voxrelay.server.node import Node

M = TypeVar("M", bound=BaseModel)
MAX_BODY_BYTES = 256 * 1024


class HTTPError(Exception):
    """An error answered as ``{"error": {"status", "message", "field"?}}`` with that status."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {"status": self.status, "message": self.message}
        if self.field:
            body["field"] = self.field
        headers = {"WWW-Authenticate": 'Basic realm="voxrelay"'} if self.status == 401 else None
        return JSONResponse({"error": body}, status_code=self.status, headers=headers)


def node_of(request: Request) -> Node:
    node: Node = request.app.state.node
    return node


def authenticate(request: Request) -> Principal:
    """HTTP Basic ``project:token``. Raises HTTPError(401)."""
    try:
        return node_of(request).auth.basic(request.headers.get("authorization"))
    except AuthError:
        raise HTTPError(401, "unauthorized: use HTTP Basic auth with project:token") from None


async def json_body(request: Request, model: type[M]) -> M:
    """Read and validate a JSON body. Raises HTTPError 413, 400 (naming the field) or 422."""
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise HTTPError(413, f"body of {len(raw)} bytes exceeds {MAX_BODY_BYTES}")
    try:
        data = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        raise HTTPError(400, "body is not valid JSON") from None
    try:
        return validate(model, data)
    except InvalidParams as exc:
        raise HTTPError(400, str(exc), exc.field or None) from None
