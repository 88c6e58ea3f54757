"""The official SignalWire RELAY clients, unchanged, against ``voxrelay serve``.

Each client runs as a black box: a subprocess executes a small user-side script from
``tests/interop/clients/`` with the official SDK installed by ``scripts/install-interop``
(Python ``signalwire-sdk`` in ``.venv-interop``, Node ``@signalwire/realtime-api`` in
``tests/interop/node/node_modules``). The script prints one JSON line per thing it observes;
the test checks those lines, the caller's view of the call and the script's exit code.
"""

from __future__ import annotations

import gc
import json
import os
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from voxrelay.testing import LocalServer

pytestmark = pytest.mark.interop

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CLIENTS = HERE / "clients"
INTEROP_PYTHON = ROOT / ".venv-interop" / "bin" / "python"
NODE_SDK = HERE / "node" / "node_modules" / "@signalwire" / "realtime-api"

CLIENT_TIMEOUT = 20.0  # the scripts stop themselves after this; we kill them a bit later
EVENT_TIMEOUT = 15.0


def _require_interop_install(kind: str) -> list[str]:
    """The command line for ``kind``'s client, or a test failure saying how to install it."""
    hint = "run scripts/install-interop (from the repo root) to install the official clients"
    if kind == "python":
        if not INTEROP_PYTHON.exists():
            pytest.fail(f"interop venv missing: {INTEROP_PYTHON} not found; {hint}", pytrace=False)
        check = subprocess.run(
            [str(INTEROP_PYTHON), "-c", "import signalwire.relay"],
            capture_output=True,
            timeout=60,
        )
        if check.returncode != 0:
            pytest.fail(
                f"signalwire-sdk not importable in {INTEROP_PYTHON.parent.parent}; {hint}"
                f"\n{check.stderr.decode(errors='replace')[-2000:]}",
                pytrace=False,
            )
        return [str(INTEROP_PYTHON), "-u", str(CLIENTS / "py_inbound.py")]
    node = shutil.which("node")
    if node is None:
        pytest.fail(f"node not found on PATH (need Node >= 18); then {hint}", pytrace=False)
    if not NODE_SDK.exists():
        pytest.fail(
            f"@signalwire/realtime-api missing: {NODE_SDK} not found; {hint}", pytrace=False
        )
    return [node, str(CLIENTS / "node_inbound.mjs")]


@dataclass
class ClientRun:
    """A running official-client script; its stdout JSON lines arrive in ``events``."""

    kind: str
    context: str
    process: subprocess.Popen[str]
    stderr_path: Path
    events: list[dict[str, Any]] = field(default_factory=list)
    other_output: list[str] = field(default_factory=list)
    _queue: queue.Queue[dict[str, Any] | None] = field(default_factory=queue.Queue)

    def start_reader(self) -> None:
        def read() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                try:
                    event = json.loads(line)
                except ValueError:
                    self.other_output.append(line.rstrip("\n"))
                    continue
                if isinstance(event, dict) and "event" in event:
                    self.events.append(event)
                    self._queue.put(event)
                else:
                    self.other_output.append(line.rstrip("\n"))
            self._queue.put(None)  # stdout closed: the client has exited

        threading.Thread(target=read, name=f"{self.kind}-stdout", daemon=True).start()

    def describe(self) -> str:
        try:
            stderr = self.stderr_path.read_text(errors="replace")[-4000:]
        except OSError:
            stderr = ""
        return (
            f"{self.kind} client on {self.context!r}, exit code {self.process.poll()}\n"
            f"events: {json.dumps(self.events, indent=1)}\n"
            f"other stdout: {self.other_output[-20:]}\nstderr (tail):\n{stderr}"
        )

    def wait_event(self, name: str, timeout: float = EVENT_TIMEOUT) -> dict[str, Any]:
        """The next event called ``name``; fails on ``error``, exit or timeout."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                pytest.fail(f"no {name!r} from the client in {timeout} s\n{self.describe()}")
            try:
                event = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if event is None:
                self.process.wait(5)
                pytest.fail(f"client exited before {name!r}\n{self.describe()}")
            if event["event"] == "error":
                pytest.fail(f"client reported an error before {name!r}\n{self.describe()}")
            if event["event"] == name:
                return event

    def wait_exit(self, timeout: float = EVENT_TIMEOUT) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"client still running after {timeout} s\n{self.describe()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


@pytest.fixture
def server(tls_server: LocalServer) -> Iterator[LocalServer]:
    """``tls_server``, with a workaround so that stopping it does not take 10 s.

    ``LocalServer.start()`` polls ``/healthz`` with an ``httpx.Client`` it never closes; it
    lingers (a reference cycle) until the cyclic GC runs, holding an idle keep-alive TLS
    connection, and ``voxrelay serve`` then waits for that connection on SIGTERM until
    ``LocalServer.stop()`` kills it 10 s later. Collecting first closes the socket.
    """
    yield tls_server
    gc.collect()


@pytest.fixture
def start_client(tmp_path: Path) -> Iterator[Any]:
    """``start_client(kind, server, context, linger=0)`` -> a ``ClientRun``; all killed after."""
    runs: list[ClientRun] = []

    def start(kind: str, server: LocalServer, context: str, linger: float = 0.0) -> ClientRun:
        command = _require_interop_install(kind)
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")
        }
        env.update(
            SIGNALWIRE_RELAY_CA_FILE=str(server.ca_file),  # Python SDK
            NODE_EXTRA_CA_CERTS=str(server.ca_file),  # Node runtime
            RELAY_HOST=server.host,
            RELAY_PROJECT=server.project,
            RELAY_TOKEN=server.token,
            RELAY_CONTEXT=context,
            RELAY_TIMEOUT=str(CLIENT_TIMEOUT),
            RELAY_HOLD="0.5",
            RELAY_LINGER=str(linger),
        )
        stderr_path = tmp_path / f"{kind}-{context}.stderr"
        with stderr_path.open("w") as stderr:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                env=env,
                cwd=tmp_path,
            )
        run = ClientRun(kind, context, process, stderr_path)
        runs.append(run)
        run.start_reader()
        return run

    try:
        yield start
    finally:
        for run in runs:
            run.stop()


class CallerView:
    """The caller's side of an originated call: its state updates, streamed in a thread."""

    def __init__(self, server: LocalServer, call_id: str) -> None:
        self.call_id = call_id
        self.updates: list[dict[str, Any]] = []
        self._http = server.http()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            url = f"/api/virtual/calls/{self.call_id}/events"
            with self._http.stream("GET", url, timeout=httpx.Timeout(10, read=30)) as resp:
                for line in resp.iter_lines():
                    if line.strip():
                        self.updates.append(json.loads(line))
        except (httpx.HTTPError, ValueError) as exc:
            self.updates.append({"stream_error": repr(exc)})

    def states(self, timeout: float = EVENT_TIMEOUT) -> list[str | None]:
        """All caller-side states, once the call has ended (or the stream gave up)."""
        self._thread.join(timeout)
        self._http.close()
        return [u.get("call_state") for u in self.updates]


def originate(server: LocalServer, context: str, from_number: str, to_number: str) -> CallerView:
    return CallerView(server, server.originate(context, from_number, to_number))


def assert_handled(
    client: ClientRun, caller: CallerView, from_number: str, to_number: str, server: LocalServer
) -> None:
    """The client saw this call with its numbers, answered it, hung up, saw it end, exited 0."""
    received = client.wait_event("received")
    assert received["call_id"] == caller.call_id, client.describe()
    assert (received["from"], received["to"]) == (from_number, to_number), client.describe()
    assert client.wait_event("answered")["call_id"] == caller.call_id
    client.wait_event("hangup_sent")
    ended = client.wait_event("ended")
    assert ended["call_id"] == caller.call_id and ended["state"] == "ended", client.describe()
    client.wait_event("done")
    assert client.wait_exit() == 0, client.describe()

    # What the caller saw: ringing, answered, then the app hung up.
    states = caller.states()
    assert "answered" in states and states[-1] == "ended", (states, caller.updates)
    assert states.index("answered") < states.index("ended"), states
    final = server.call_state(caller.call_id)
    assert final["call_state"] == "ended", final
    assert final["end_reason"] == "hangup", final


@pytest.mark.parametrize("kind", ["python", "node"])
def test_official_client_answers_and_hangs_up_an_inbound_call(
    kind: str, server: LocalServer, start_client: Any
) -> None:
    client = start_client(kind, server, "office")
    client.wait_event("ready")
    caller = originate(server, "office", "+15551230001", "+15550100001")
    assert_handled(client, caller, "+15551230001", "+15550100001", server)
    assert not [e for e in client.events if e["event"] == "extra_call"], client.describe()


def test_two_official_clients_on_different_contexts_each_get_only_their_own_call(
    server: LocalServer, start_client: Any
) -> None:
    # Both stay connected a second after their call ended, to report any call offered late.
    py = start_client("python", server, "office", linger=1.0)
    node = start_client("node", server, "sales", linger=1.0)
    py.wait_event("ready")
    node.wait_event("ready")

    to_sales = originate(server, "sales", "+15552220002", "+15550100002")
    to_office = originate(server, "office", "+15551110001", "+15550100001")

    assert_handled(py, to_office, "+15551110001", "+15550100001", server)
    assert_handled(node, to_sales, "+15552220002", "+15550100002", server)
    for client in (py, node):
        seen = [e for e in client.events if e["event"] in ("received", "extra_call")]
        assert len(seen) == 1, client.describe()
