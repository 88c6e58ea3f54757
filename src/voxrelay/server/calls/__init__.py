"""Calls on the server: the state machine, the registry, routing to sessions, far ends."""

from voxrelay.server.calls.call import Call, IllegalTransition
from voxrelay.server.calls.registry import CallGone, CallNotFound, CallRegistry

__all__ = ["Call", "CallGone", "CallNotFound", "CallRegistry", "IllegalTransition"]
