"""Run a real ``voxrelay serve`` for tests, yours and ours, as a subprocess or in-process.

``LocalServer`` starts the server in a subprocess on a free loopback port with the projects
and numbers you give, waits until it answers, and stops it on exit. It can place
signalling-only calls into a context (``originate``, over HTTP; for calls with audio use a
``voxrelay.phone.VirtualPhone``, which calls in over SIP)::

    from voxrelay.testing import LocalServer

    with LocalServer() as server:
        client = RelayClient(project=server.project, token=server.token,
                             host=server.host, contexts=["default"])
        call_id = server.originate("default")

A pytest fixture is one line: ``yield from LocalServer.fixture()`` in a fixture function.

SIP: ``.sip_port`` is a free port; ``sip_users={"alice": {"password": "...", "number": "+1555..."}}``
adds registrar users, ``sip_settings`` more ``[sip]`` keys, ``sip_host``/``rtp_host`` the
addresses SIP and RTP bind (default: 127.0.0.1).

``InProcessServer`` (from ``voxrelay.inprocess``, re-exported here) runs the same app in the
test's own event loop instead: RELAY sessions over an in-memory WebSocket (both dialects),
REST through ``httpx.ASGITransport`` with Basic auth, and calls with real media from a
virtual phone on loopback SIP/RTP (``call_in``). No subprocess and no HTTP port, so command
handlers get fast unit tests::

    async with InProcessServer() as server:
        app = await server.session(contexts=["default"])
        call = await server.call_in(app)                   # a phone calls in, app answers
        await app.execute("calling.play", {**call.ids, "control_id": "p1", "play": [...]})
        await app.wait_event("calling.call.play", control_id="p1", state="finished")
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from voxrelay.inprocess import (
    InProcessServer,
    PhoneCall,
    RelayEvent,
    RelayRpcError,
    RelayTestSession,
)

__all__ = [
    "DEFAULT_NUMBERS",
    "InProcessServer",
    "LocalServer",
    "PhoneCall",
    "RelayEvent",
    "RelayRpcError",
    "RelayTestSession",
    "free_port",
]

DEFAULT_NUMBERS = {
    "+15550100001": "office",
    "+15550100002": "sales",
    "+15550100003": "support",
}


def free_port(udp: bool = False, avoid: tuple[int, ...] = ()) -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (for UDP too with ``udp``: SIP
    listens on both), other than the ports in ``avoid``."""
    for _ in range(100):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
            if port in avoid:
                continue
            if not udp:
                return port
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as datagram:
                try:
                    datagram.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise OSError("no free port on 127.0.0.1")


class LocalServer:
    """A ``voxrelay serve`` subprocess on 127.0.0.1 (see module docstring)."""

    def __init__(
        self,
        *,
        project: str = "test-project",
        token: str = "PTtest-token",
        other_projects: dict[str, str] | None = None,
        numbers: dict[str, str] | None = None,
        tls: bool = False,
        extra_args: list[str] | None = None,
        env: dict[str, str] | None = None,
        sip_users: dict[str, dict[str, str]] | None = None,
        sip_settings: dict[str, str | list[str]] | None = None,
        sip_host: str | None = None,
        rtp_host: str | None = None,
    ) -> None:
        self.project = project
        self.token = token
        self.other_projects = (
            other_projects if other_projects is not None else {"other-project": "PTother"}
        )
        self.numbers = DEFAULT_NUMBERS if numbers is None else numbers
        self.tls = tls
        self.extra_args = extra_args or []
        self.env = env or {}
        self.sip_users = sip_users or {}  # name -> {"password": ..., "number": ...}
        self.sip_settings = sip_settings or {}  # more [sip] keys, e.g. digest_algorithms
        self.sip_host = sip_host  # --sip-host (default: 127.0.0.1, the server's host)
        self.rtp_host = rtp_host  # --rtp-host
        self.port = free_port()
        self.sip_port = free_port(udp=True, avoid=(self.port,))
        self.data_dir = Path(tempfile.mkdtemp(prefix="voxrelay-test-"))
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = self.data_dir / "server.log"

    # -- addresses -----------------------------------------------------------------------

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"{'wss' if self.tls else 'ws'}://{self.host}"

    @property
    def http_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}"

    @property
    def ca_file(self) -> Path:
        """The local CA clients must trust when ``tls`` is on."""
        return self.data_dir / "tls" / "ca.pem"

    # -- lifecycle ----------------------------------------------------------------------

    def _write_config(self) -> Path:
        lines = []
        for pid, tok in {self.project: self.token, **self.other_projects}.items():
            lines += ["[[projects]]", f'id = "{pid}"', f'token = "{tok}"', ""]
        lines.append("[numbers]")
        lines += [f'"{num}" = "{ctx}"' for num, ctx in self.numbers.items()]
        if self.sip_settings:
            lines += ["", "[sip]"]
            lines += [f"{key} = {json.dumps(value)}" for key, value in self.sip_settings.items()]
        for name, user in self.sip_users.items():
            lines += ["", f"[sip.users.{json.dumps(name)}]"]
            lines += [f"{key} = {json.dumps(value)}" for key, value in user.items()]
        path = self.data_dir / "voxrelay.toml"
        path.write_text("\n".join(lines) + "\n")
        return path

    def start(self, timeout: float = 20.0) -> LocalServer:
        args = [
            sys.executable,
            "-m",
            "voxrelay",
            "serve",
            "--port",
            str(self.port),
            "--config",
            str(self._write_config()),
            "--data-dir",
            str(self.data_dir),
            "--sip-port",
            str(self.sip_port),
            *(["--sip-host", self.sip_host] if self.sip_host else []),
            *(["--rtp-host", self.rtp_host] if self.rtp_host else []),
            *(["--tls"] if self.tls else []),
            *self.extra_args,
        ]
        env = {**os.environ, **self.env}
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"voxrelay serve exited early:\n{self.log_path.read_text()}")
            try:
                with self.http() as client:  # closed at once: no idle keep-alive at shutdown
                    if client.get("/healthz", timeout=1.0).status_code == 200:
                        return self
            except (httpx.HTTPError, OSError):  # not listening yet, or its CA not written yet
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(
            f"voxrelay serve did not start in {timeout} s:\n{self.log_path.read_text()}"
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

    @classmethod
    def fixture(cls, **kw: Any) -> Iterator[LocalServer]:
        """Generator for a pytest fixture: ``yield from LocalServer.fixture()``."""
        with cls(**kw) as server:
            yield server

    # -- HTTP helpers -------------------------------------------------------------------

    def http(self, project: str | None = None, token: str | None = None) -> httpx.Client:
        verify: Any = ssl.create_default_context(cafile=str(self.ca_file)) if self.tls else True
        return httpx.Client(
            base_url=self.http_url,
            auth=(project or self.project, token or self.token),
            verify=verify,
            timeout=10.0,
        )

    def originate(
        self,
        context: str = "default",
        from_number: str = "+15550001111",
        to_number: str = "+15550002222",
        ring_timeout: float = 30.0,
    ) -> str:
        """Place an inbound call into ``context``; returns its call_id."""
        with self.http() as client:
            resp = client.post(
                "/api/virtual/calls",
                json={
                    "context": context,
                    "from": from_number,
                    "to": to_number,
                    "ring_timeout": ring_timeout,
                },
            )
            resp.raise_for_status()
            call_id: str = resp.json()["call_id"]
            return call_id

    def call_state(self, call_id: str) -> dict[str, Any]:
        """A call of the project as the server sees it (``GET /api/calls/{id}``): placed
        with ``originate``, by a virtual phone, or dialled."""
        with self.http() as client:
            resp = client.get(f"/api/calls/{call_id}")
            resp.raise_for_status()
            state: dict[str, Any] = resp.json()
            return state

    def hang_up(self, call_id: str) -> None:
        """Hang up as the caller of a call placed with ``originate``."""
        with self.http() as client:
            client.delete(f"/api/virtual/calls/{call_id}").raise_for_status()
