"""The voxrelay server: RELAY WebSocket gateway, sessions, calls and HTTP on one port."""

from voxrelay.server.app import create_app
from voxrelay.server.config import Project, ServerConfig

__all__ = ["Project", "ServerConfig", "create_app"]
