"""The 2.x ``Relay`` API (PyPI ``signalwire`` 2.x) over the Blade dialect (reference §5).

Code written for ``signalwire.relay`` 2.x runs with only its import changed:
``from voxrelay.v2.consumer import Consumer`` (was ``from signalwire.relay.consumer import
Consumer``), ``from voxrelay.v2.client import Client``.
"""

from voxrelay.v2.calling import Call, Calling
from voxrelay.v2.client import Client
from voxrelay.v2.consumer import Consumer

__all__ = ["Call", "Calling", "Client", "Consumer"]
