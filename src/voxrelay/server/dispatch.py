"""RELAY method registry: each command family module registers its handlers here.

A handler gets the request context and its validated params model, and returns the result
dict. Failures a client should see as a RELAY result (``{"code": "404", ...}``) are raised as
CommandError; bad params become code "400" naming the field (reference §1.3).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

from voxrelay.protocol.codes import ResultCode
from voxrelay.server.node import Node
from voxrelay.server.session import Session

JsonDict = dict[str, Any]
P = TypeVar("P", bound=BaseModel)


class CommandError(Exception):
    """A RELAY failure result: string ``code`` ("400", "404", "409"...) and ``message``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def result(self) -> JsonDict:
        return {"code": self.code, "message": self.message}


class Requester(Protocol):
    """Who issues commands: a RELAY ``Session``, or a REST principal (``server.rest``).

    Handlers that hand the requester calls to control (answer, dial) use it as the calls'
    event sink; only a RELAY session can subscribe to contexts (see ``relay_session``).
    """

    @property
    def project(self) -> str: ...

    def emit(self, event_type: str, payload: dict[str, Any]) -> str: ...


@dataclass(slots=True)
class RequestContext:
    """Who is asking (a session, or a REST principal) and what they may reach (node)."""

    node: Node
    session: Requester

    @property
    def project(self) -> str:
        return self.session.project


def relay_session(ctx: RequestContext) -> Session:
    """The RELAY session behind ``ctx``; code "400" for requesters that have none (REST)."""
    if not isinstance(ctx.session, Session):
        raise CommandError(ResultCode.BAD_REQUEST, "only a RELAY session can do this")
    return ctx.session


Handler = Callable[[RequestContext, Any], Awaitable[JsonDict]]


@dataclass(frozen=True, slots=True)
class MethodSpec:
    name: str
    params: type[BaseModel]
    handler: Handler


METHODS: dict[str, MethodSpec] = {}


def method(
    name: str, params: type[P]
) -> Callable[[Callable[[RequestContext, P], Awaitable[JsonDict]]], Handler]:
    """Register ``handler`` for RELAY method ``name`` with params model ``params``."""

    def register(handler: Callable[[RequestContext, P], Awaitable[JsonDict]]) -> Handler:
        METHODS[name] = MethodSpec(name, params, handler)
        return handler

    return register


def ok(message: str, **extra: Any) -> JsonDict:
    """A success result ``{"code": "200", "message": message, **extra}``."""
    return {"code": ResultCode.OK.value, "message": message, **extra}
