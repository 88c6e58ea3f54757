"""``status_url`` webhooks: events of calls and components POSTed to the user's URL.

Each delivery is the ``params`` of the ``signalwire.event`` a RELAY client would get:
``{"event_type", "timestamp", "project_id", "node_id", "params": {...event payload...}}``.
Sending never blocks: deliveries go into bounded queues (the newest is dropped, and logged,
when one is full) that a few background workers drain, one queue per worker. The events of
one call always go to the same worker, so they arrive in the order they happened (created,
ringing, answered, ended), while different calls are delivered in parallel. A failed delivery
(no connection, a timeout, HTTP 429 or 5xx) is retried with exponential backoff, at most
``max_attempts`` times in all; a retried event may arrive after later ones. Targets follow
the SSRF policy of audio URLs (``AudioLoader.check_host``: public addresses, the
``--media-allow-host`` list, loopback for a loopback-bound server), checked again on every
attempt; redirects are not followed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from voxrelay.protocol.events import CALL_STATE
from voxrelay.server.audio import AudioError
from voxrelay.server.calls import Call
from voxrelay.server.node import Node

log = logging.getLogger(__name__)

JsonDict = dict[str, Any]
Tap = Callable[[str, JsonDict], None]


@dataclass(slots=True)
class Delivery:
    url: str
    body: JsonDict
    attempt: int = 1


class Webhooks:
    """The node's webhook sender (see module docstring)."""

    def __init__(
        self,
        node: Node,
        *,
        queue_size: int = 1000,
        workers: int = 4,
        max_attempts: int = 5,
        first_delay: float = 0.5,
        timeout: float = 5.0,
    ) -> None:
        self.node = node
        self.max_attempts = max_attempts
        self.first_delay = first_delay
        self.timeout = timeout
        shards = max(1, workers)  # workers=0 queues without delivering (tests)
        self._queues: list[asyncio.Queue[Delivery]] = [
            asyncio.Queue(maxsize=max(1, queue_size // shards)) for _ in range(shards)
        ]
        self._workers = workers
        self._started = False
        self._client: httpx.AsyncClient | None = None
        self.delivered = 0
        self.dropped = 0
        self.failed = 0

    def send(self, url: str, project: str, event_type: str, payload: JsonDict) -> bool:
        """Queue one event for ``url``. False (dropped) when the queue is full."""
        body = {
            "event_type": event_type,
            "timestamp": time.time(),
            "project_id": project,
            "node_id": self.node.config.node_id,
            "params": payload,
        }
        return self._enqueue(Delivery(url, body))

    def _enqueue(self, delivery: Delivery) -> bool:
        self._start()
        params = delivery.body.get("params") or {}
        key = params.get("call_id") or delivery.url  # one call's events: one queue, in order
        try:
            self._queues[hash(key) % len(self._queues)].put_nowait(delivery)
        except asyncio.QueueFull:
            self.dropped += 1
            if self.dropped in (1, 100, 10_000):
                log.warning("webhook queue full: dropped %d deliveries so far", self.dropped)
            return False
        return True

    def _start(self) -> None:
        if self._started:
            return
        self._started = True
        for n, queue in enumerate(self._queues[: self._workers]):
            self.node.spawn(self._work(queue), f"webhooks {n}")

    async def _work(self, queue: asyncio.Queue[Delivery]) -> None:
        while True:
            delivery = await queue.get()
            try:
                await self._deliver(delivery)
            except Exception:
                log.exception("webhook to %s failed", delivery.url)

    async def _deliver(self, delivery: Delivery) -> None:
        try:
            await self.node.audio.check_host(delivery.url)
        except AudioError as exc:
            self.failed += 1
            log.warning("webhook to %s refused: %s", delivery.url, exc)
            return
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout, follow_redirects=False)
        try:
            resp = await self._client.post(delivery.url, json=delivery.body)
            retry = resp.status_code == 429 or resp.status_code >= 500
            ok = resp.is_success
        except httpx.HTTPError as exc:
            log.info("webhook to %s: %s", delivery.url, exc)
            retry, ok = True, False
        if ok:
            self.delivered += 1
        elif retry and delivery.attempt < self.max_attempts:
            delay = self.first_delay * 2 ** (delivery.attempt - 1)
            delivery.attempt += 1
            asyncio.get_running_loop().call_later(delay, self._enqueue, delivery)
        else:
            self.failed += 1
            log.warning("webhook to %s given up after %d attempts", delivery.url, delivery.attempt)


def component_done(event_type: str, payload: JsonDict) -> bool:
    """True for the last event of a component (its control_id gets no more events)."""
    state = payload.get("state")
    if event_type == "calling.call.collect":
        if state is not None:
            return state in ("finished", "error")
        return "result" in payload and payload.get("final") is not False
    if event_type == "calling.call.detect":
        detect = payload.get("detect") or {}
        return state in ("finished", "error") or (detect.get("params") or {}).get("event") in (
            "finished",
            "error",
        )
    return state in ("finished", "error", "no_input")


def tap_component(webhooks: Webhooks, call: Call, control_id: str, url: str) -> Tap:
    """Send the events of component ``control_id`` on ``call`` to ``url`` until it is done."""

    def tap(event_type: str, payload: JsonDict) -> None:
        if payload.get("control_id") != control_id:
            return
        webhooks.send(url, call.project, event_type, payload)
        if component_done(event_type, payload) and tap in call.event_taps:
            call.event_taps.remove(tap)

    call.event_taps.append(tap)
    return tap


class CallStatusHook:
    """Send a call's ``calling.call.state`` events in ``events`` to ``url`` (replaceable)."""

    def __init__(self, webhooks: Webhooks, call: Call, url: str, events: list[str]) -> None:
        self.webhooks, self.call, self.url, self.events = webhooks, call, url, set(events)
        call.event_taps.append(self)

    def __call__(self, event_type: str, payload: JsonDict) -> None:
        if event_type == CALL_STATE and payload.get("call_state") in self.events:
            self.webhooks.send(self.url, self.call.project, event_type, payload)
