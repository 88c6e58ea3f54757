"""status_url deliveries: retried with backoff on 5xx, bounded queue, SSRF policy."""

from __future__ import annotations

import asyncio
import json
import random
import tempfile
from pathlib import Path
from typing import Any

import httpx

from voxrelay.server.config import ServerConfig
from voxrelay.server.node import Node
from voxrelay.server.rest.webhooks import Webhooks, component_done


def webhooks(transport: httpx.MockTransport, **kw: object) -> Webhooks:
    node = Node(ServerConfig(data_dir=Path(tempfile.mkdtemp())))  # loopback-bound: allowed
    hooks = Webhooks(node, first_delay=0.02, **kw)  # type: ignore[arg-type]
    hooks._client = httpx.AsyncClient(transport=transport)
    return hooks


async def test_retried_with_backoff_until_delivered() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503 if len(seen) < 3 else 204)

    hooks = webhooks(httpx.MockTransport(answer))
    loop = asyncio.get_running_loop()
    retries: list[float] = []  # the delays the retries were scheduled with
    schedule = loop.call_later

    def call_later(delay: float, callback: Any, *args: Any) -> asyncio.TimerHandle:
        if getattr(callback, "__self__", None) is hooks:
            retries.append(delay)
        return schedule(delay, callback, *args)

    loop.call_later = call_later  # type: ignore[method-assign]
    assert hooks.send("http://127.0.0.1:9/hook", "p", "calling.call.play", {"state": "playing"})
    for _ in range(100):
        if hooks.delivered:
            break
        await asyncio.sleep(0.01)
    loop.call_later = schedule  # type: ignore[method-assign]
    assert hooks.delivered == 1 and len(seen) == 3
    assert retries == [0.02, 0.04]  # exponential: first_delay, then twice that


async def test_gives_up_after_max_attempts_and_never_on_4xx() -> None:
    calls = []
    hooks = webhooks(
        httpx.MockTransport(lambda r: calls.append(r) or httpx.Response(500)), max_attempts=3
    )
    hooks.send("http://127.0.0.1:9/a", "p", "e", {})
    for _ in range(100):
        if hooks.failed:
            break
        await asyncio.sleep(0.01)
    assert len(calls) == 3 and hooks.failed == 1
    hooks2 = webhooks(httpx.MockTransport(lambda r: calls.append(r) or httpx.Response(404)))
    calls.clear()
    hooks2.send("http://127.0.0.1:9/a", "p", "e", {})
    await asyncio.sleep(0.2)
    assert len(calls) == 1 and hooks2.failed == 1


async def test_private_targets_are_refused_and_the_queue_is_bounded() -> None:
    calls: list[httpx.Request] = []
    hooks = webhooks(httpx.MockTransport(lambda r: calls.append(r) or httpx.Response(204)))
    hooks.send("http://10.1.2.3/hook", "p", "e", {})
    hooks.send("http://169.254.169.254/latest/meta-data", "p", "e", {})
    await asyncio.sleep(0.1)
    assert calls == [] and hooks.failed == 2
    small = webhooks(httpx.MockTransport(lambda r: httpx.Response(204)), queue_size=2, workers=0)
    results = [small.send("http://127.0.0.1:9/h", "p", "e", {}) for _ in range(3)]
    assert results == [True, True, False] and small.dropped == 1


async def test_one_calls_events_arrive_in_order_while_calls_go_in_parallel() -> None:
    arrived: list[tuple[str, int]] = []
    rng = random.Random(7)

    async def slow_site(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(rng.uniform(0.0, 0.02))  # some answers are slower than others
        params = json.loads(request.content)["params"]
        arrived.append((params["call_id"], params["n"]))
        return httpx.Response(204)

    hooks = webhooks(httpx.MockTransport(slow_site))
    for n in range(20):
        for call in ("call-a", "call-b", "call-c"):
            hooks.send("http://127.0.0.1:9/h", "p", "calling.call.state", {"call_id": call, "n": n})
    for _ in range(300):
        if hooks.delivered == 60:
            break
        await asyncio.sleep(0.01)
    assert hooks.delivered == 60
    for call in ("call-a", "call-b", "call-c"):
        assert [n for c, n in arrived if c == call] == list(range(20))


def test_component_done() -> None:
    assert component_done("calling.call.play", {"state": "finished"})
    assert not component_done("calling.call.play", {"state": "paused"})
    assert component_done("calling.call.collect", {"result": {"type": "digit"}})
    assert not component_done("calling.call.collect", {"result": {}, "final": False})
    assert not component_done("calling.call.collect", {"result": {}, "state": "collecting"})
    finished = {"detect": {"type": "digit", "params": {"event": "finished"}}}
    assert component_done("calling.call.detect", finished)
    assert component_done("calling.call.record", {"state": "no_input"})
