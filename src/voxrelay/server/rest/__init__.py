"""The REST calling API (reference §6): ``POST /api/calling/calls`` and its OpenAPI document.

``routes`` mounts it; ``service`` runs commands through the RELAY handlers; ``webhooks``
delivers ``status_url`` events; SWML documents run in ``voxrelay.server.swml``.
"""

from voxrelay.server.rest.routes import routes

__all__ = ["routes"]
