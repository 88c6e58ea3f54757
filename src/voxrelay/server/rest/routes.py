"""HTTP endpoints of the REST calling API (reference §6).

``POST /api/calling/calls`` runs a command, ``GET /api/calling/calls/{id}`` shows a call,
``GET /api/calling/openapi.json`` describes both. HTTP Basic auth ``project:token``; every
error is ``{"errors": [{type, code, message, attribute, url}]}``.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from voxrelay.server.auth import AuthError, Principal
from voxrelay.server.httputil import node_of
from voxrelay.server.rest import openapi
from voxrelay.server.rest.errors import RestError
from voxrelay.server.rest.models import COMMAND_MODELS, NOT_IMPLEMENTED, DialCommand, UpdateCommand
from voxrelay.server.rest.service import RestService

MAX_BODY_BYTES = 256 * 1024


def service_of(request: Request) -> RestService:
    state = request.app.state
    service: RestService | None = getattr(state, "rest", None)
    if service is None:
        service = state.rest = RestService(node_of(request))
    return service


def _authenticate(request: Request) -> Principal:
    try:
        return node_of(request).auth.basic(request.headers.get("authorization"))
    except AuthError:
        raise RestError(
            401, "use HTTP Basic auth with project:token", code="unauthorized"
        ) from None


async def _read_json(request: Request) -> Any:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise RestError(413, f"body larger than {MAX_BODY_BYTES} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise RestError(413, f"body larger than {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks) or b"null")
    except (ValueError, UnicodeDecodeError):
        raise RestError(400, "body is not valid JSON", code="invalid_json") from None


def _validation_error(exc: ValidationError) -> RestError:
    err = exc.errors()[0]
    loc = [str(p) for p in err["loc"]]
    if loc[:1] == ["params"]:
        loc = loc[1:]
    attribute = ".".join(loc) or None
    missing = err["type"] == "missing"
    message = str(err["msg"]).removeprefix("Value error, ")
    return RestError(
        422,
        f"{attribute} {message.lower()}" if attribute else message,
        code="missing_required_parameter" if missing else "invalid_parameter",
        attribute=attribute,
    )


def _command_model(body: Any) -> type[BaseModel]:
    if not isinstance(body, dict):
        raise RestError(400, "the body must be a JSON object", code="invalid_body")
    command = body.get("command")
    if not isinstance(command, str) or not command:
        raise RestError(
            400, "command is required", code="missing_required_parameter", attribute="command"
        )
    model = COMMAND_MODELS.get(command)
    if model is not None:
        return model
    if command in NOT_IMPLEMENTED:
        message = f"{command} is not implemented by this server yet"
        code = "command_not_implemented"
    elif command.startswith("calling."):
        message = f"{command} is not available over REST; use a RELAY client"
        code = "command_not_available"
    else:
        message = f"unknown command {command!r}"
        code = "unknown_command"
    raise RestError(400, message, code=code, attribute="command")


async def calls(request: Request) -> Response:
    try:
        principal = _authenticate(request)
        body = await _read_json(request)
        model = _command_model(body)
        try:
            command = model.model_validate(body)
        except ValidationError as exc:
            raise _validation_error(exc) from None
        service = service_of(request)
        if isinstance(command, DialCommand):
            result = await service.dial(principal.project, command.params)
        elif isinstance(command, UpdateCommand):
            result = await service.update(principal.project, command.params)
        else:
            result = await service.command(
                principal.project,
                body["command"],
                command.id,  # type: ignore[attr-defined]
                command.params,  # type: ignore[attr-defined]
            )
    except RestError as exc:
        return exc.response()
    return JSONResponse(result)


async def show(request: Request) -> Response:
    try:
        principal = _authenticate(request)
        service = service_of(request)
        call = service.find(principal.project, request.path_params["id"])
    except RestError as exc:
        return exc.response()
    return JSONResponse(service.leg(call))


async def openapi_json(request: Request) -> Response:
    return JSONResponse(openapi.document())


routes = [
    Route("/api/calling/calls", calls, methods=["POST"]),
    Route("/api/calling/calls/{id}", show, methods=["GET"]),
    Route("/api/calling/openapi.json", openapi_json, methods=["GET"]),
]
