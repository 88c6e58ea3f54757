"""One module per RELAY command family; importing this package registers them all."""

from voxrelay.server.commands import (
    contexts,
    detect,
    dial,
    lifecycle,
    play,
    record,
    send_digits,
)

__all__ = ["contexts", "detect", "dial", "lifecycle", "play", "record", "send_digits"]
