"""The OpenAPI 3.1 document of the REST calling API, generated from the pydantic models.

The request body is the union of the command models (``models.COMMAND_MODELS``),
discriminated by ``command``; responses are ``CallLeg`` or ``ErrorBody``.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Union

from pydantic import BaseModel, Field, RootModel
from pydantic.json_schema import models_json_schema

from voxrelay import __version__
from voxrelay.server.rest.models import COMMAND_MODELS, CallLeg, ErrorBody

REF = "#/components/schemas/{model}"


def _request_model() -> type[BaseModel]:
    union: Any = Union[tuple(COMMAND_MODELS.values())]  # noqa: UP007
    body: Any = Annotated[union, Field(discriminator="command")]

    class CallingRequest(RootModel[body]):
        """A command: ``{command, id, params}``; dial and update carry no ``id``."""

    return CallingRequest


def _errors(*statuses: int) -> dict[str, Any]:
    text = {
        400: "Bad request: not JSON, unknown or unavailable command (attribute names it)",
        401: "Missing or wrong credentials (HTTP Basic project:token)",
        404: "No such call in this project",
        409: "The call is not in a state that allows the command",
        413: "Body too large",
        422: "Validation error (attribute names the field)",
        429: "Too many requests",
        503: "Server at capacity",
    }
    ref = {"$ref": REF.format(model="ErrorBody")}
    return {
        str(s): {"description": text[s], "content": {"application/json": {"schema": ref}}}
        for s in statuses
    }


@cache
def document() -> dict[str, Any]:
    request = _request_model()
    _, schemas = models_json_schema(
        [(request, "validation"), (CallLeg, "serialization"), (ErrorBody, "serialization")],
        ref_template=REF,
    )
    components = schemas["$defs"]
    leg = {"$ref": REF.format(model="CallLeg")}
    ok = {"description": "The call", "content": {"application/json": {"schema": leg}}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "voxrelay REST calling API",
            "version": __version__,
            "description": "Control calls over HTTP: the commands of the RELAY calling API "
            "(same parameters, call named by id), plus dial and update driven by SWML.",
        },
        "components": {
            "schemas": components,
            "securitySchemes": {"basic": {"type": "http", "scheme": "basic"}},
        },
        "security": [{"basic": []}],
        "paths": {
            "/api/calling/calls": {
                "post": {
                    "operationId": "callingCommand",
                    "summary": "Run a calling command (dial, update, calling.*)",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": REF.format(model="CallingRequest")}
                            }
                        },
                    },
                    "responses": {
                        "200": ok,
                        **_errors(400, 401, 404, 409, 413, 422, 429, 503),
                    },
                }
            },
            "/api/calling/calls/{id}": {
                "get": {
                    "operationId": "getCall",
                    "summary": "A call of the project",
                    "parameters": [
                        {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
                    ],
                    "responses": {"200": ok, **_errors(401, 404)},
                }
            },
        },
    }
