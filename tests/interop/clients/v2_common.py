"""What the 2.x user programs here share: one JSON line per step, the first-call consumer
skeleton, and a deadline.

Imported by ``v2_flow.py`` and ``v2_play_controls.py`` from their own directory; it uses no
SDK, so it runs with the official 2.x SDK and with voxrelay.v2 alike.
"""
# mypy: disable-error-code="no-untyped-def"

import os

from flow_common import emit, watchdog

__all__ = ["FirstCallFlow", "emit", "run"]


def run(consumer_class):
    """Run the consumer; exit with status 2 (after an ``error`` line) past RELAY_TIMEOUT s."""
    timeout = float(os.environ.get("RELAY_TIMEOUT", "40"))
    watchdog(timeout, f"flow did not complete within {timeout} s")
    consumer_class().run()


class FirstCallFlow:
    """Mixed in before ``Consumer``: settings from RELAY_* env, ``ready``, and
    ``self.flow(call)`` for the first call offered (``received``; any later one is only
    reported as ``extra_call``), then the process exits."""

    def setup(self):
        self.project = os.environ["RELAY_PROJECT"]
        self.token = os.environ["RELAY_TOKEN"]
        self.host = os.environ["RELAY_HOST"]
        self.contexts = [os.environ.get("RELAY_CONTEXT", "default")]
        self.handled = []

    async def ready(self):
        emit("ready", context=self.contexts[0])

    async def on_incoming_call(self, call):
        info = {
            "call_id": call.id,
            "from": call.from_number,
            "to": call.to_number,
            "context": call.context,
        }
        if self.handled:
            emit("extra_call", **info)
            return
        self.handled.append(call.id)
        emit("received", **info)
        try:
            await self.flow(call)
        except Exception as exc:
            emit("error", message=repr(exc))
        os._exit(0)
