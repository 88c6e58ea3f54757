"""One module per RELAY command family; importing this package registers them all."""

from voxrelay.server.commands import (
    collect,
    contexts,
    detect,
    dial,
    lifecycle,
    play,
    record,
    send_digits,
)

__all__ = ["collect", "contexts", "detect", "dial", "lifecycle", "play", "record", "send_digits"]
