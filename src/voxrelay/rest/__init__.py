"""The REST calling API client (reference §6): ``RestClient`` and ``AsyncRestClient``.

::

    from voxrelay.rest import RestClient     # was: from signalwire.rest import RestClient

    client = RestClient(project="...", token="...", host="127.0.0.1:8773")
    result = client.calling.play(call_id, play=[{"type": "tts", "text": "Hello"}])
    client.calling.play_pause(call_id, control_id=result["control_id"])

``AsyncRestClient`` has the same ``calling`` methods, to be awaited.
"""

from voxrelay.rest.client import AsyncRestClient, RestClient, base_url
from voxrelay.rest.errors import (
    RestError,
    RestTransportError,
    SignalWireRestError,
    SignalWireRestTransportError,
)

__all__ = [
    "AsyncRestClient",
    "RestClient",
    "RestError",
    "RestTransportError",
    "SignalWireRestError",
    "SignalWireRestTransportError",
    "base_url",
]
