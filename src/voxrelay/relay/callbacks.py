"""Run user callbacks that may be plain functions or coroutine functions.

Listeners, ``on_call`` handlers and ``on_completed`` callbacks all accept either form. A sync
callback runs at once; an async one becomes an independent task. An exception in a callback
is logged and never breaks the dispatch of the event that triggered it.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger("voxrelay.relay")

_tasks: set[asyncio.Task[Any]] = set()


def spawn(coro: Coroutine[Any, Any, Any], *, name: str | None = None) -> asyncio.Task[Any]:
    """Start ``coro`` as a task, keep a reference until it ends, and log its exception."""
    task = asyncio.get_running_loop().create_task(coro, name=name)
    _tasks.add(task)
    task.add_done_callback(_finished)
    return task


def _finished(task: asyncio.Task[Any]) -> None:
    _tasks.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error("callback task %s failed", task.get_name(), exc_info=task.exception())


def invoke(callback: Callable[..., Any], *args: Any) -> None:
    """Call ``callback(*args)``; schedule the coroutine it returns, if any."""
    try:
        result = callback(*args)
    except Exception:
        log.exception("callback %r failed", callback)
        return
    if inspect.iscoroutine(result):
        spawn(result, name=getattr(callback, "__qualname__", None))
