"""One module per RELAY command family; importing this package registers them all."""

from voxrelay.server.commands import contexts, dial, lifecycle, play

__all__ = ["contexts", "dial", "lifecycle", "play"]
