"""What every black-box client program here shares, whatever SDK it runs: one JSON line per
step on stdout, and a run that cannot outlive its deadline.

Imported from the programs' own directory (``py_*.py``, ``v2_common.py``); it uses no SDK.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Coroutine
from typing import Any

T0 = time.monotonic()


def emit(event: str, **fields: Any) -> None:
    """Print ``{"event": event, "t": seconds since start, **fields}`` as one line."""
    line = {"event": event, "t": round(time.monotonic() - T0, 3), **fields}
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


def watchdog(seconds: float, message: str) -> None:
    """Exit the process with status 2, after an ``error`` line, ``seconds`` from now (the
    last resort when the event loop itself is stuck)."""

    def hard_stop() -> None:
        emit("error", message=message)
        os._exit(2)

    timer = threading.Timer(seconds, hard_stop)
    timer.daemon = True
    timer.start()


def run_flow(name: str, flow: Coroutine[Any, Any, object], timeout: float) -> int:
    """Run ``flow`` within ``timeout`` s (stderr logging at RELAY_LOG, a watchdog 5 s later):
    0 when it completes, 1 after an ``error`` line when it times out or raises."""
    logging.basicConfig(
        stream=sys.stderr,
        level=os.environ.get("RELAY_LOG", "WARNING"),
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    watchdog(timeout + 5, f"hard timeout after {timeout + 5:.0f} s")
    try:
        asyncio.run(asyncio.wait_for(flow, timeout))
    except TimeoutError:
        emit("error", message=f"flow did not complete within {timeout} s")
        print(f"{name}: timeout after {timeout} s", file=sys.stderr)
        return 1
    except Exception as exc:
        emit("error", message=repr(exc))
        print(f"{name}: {exc!r}", file=sys.stderr)
        return 1
    return 0
