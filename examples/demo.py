"""The main job: start ``voxrelay serve``, run an app, place a call into it, report.

Used by ``scripts/demo``. Everything is a real process talking over real sockets: the
server, the app (``examples/hello_call.py`` unless ``--app`` names another), and the caller
(``voxrelay call``). Prints the call's transcript as it happens, then a summary; exits 0
when the call was answered and ended cleanly.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from voxrelay.testing import free_port

HERE = Path(__file__).resolve().parent
PROJECT = "demo-project"
TOKEN = "PTdemo-token"


def pump(proc: subprocess.Popen[str], prefix: str, sink: list[str]) -> threading.Thread:
    """Echo a process's output lines with a prefix, keeping them for the summary."""

    def run() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            sink.append(line.rstrip())
            print(f"{prefix}{line.rstrip()}", flush=True)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def wait_until(check, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"demo: timed out waiting for {what}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--app", default=str(HERE / "hello_call.py"))
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args()
    port = args.port or free_port()
    data_dir = Path(tempfile.mkdtemp(prefix="voxrelay-demo-"))
    host = f"127.0.0.1:{port}"
    env = {**os.environ, "SIGNALWIRE_PROJECT_ID": PROJECT, "SIGNALWIRE_API_TOKEN": TOKEN,
           "SIGNALWIRE_SPACE": host, "PYTHONUNBUFFERED": "1"}
    procs: list[subprocess.Popen[str]] = []
    logs: dict[str, list[str]] = {"server": [], "app": [], "call": []}

    def start(name: str, argv: list[str]) -> subprocess.Popen[str]:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, env=env)
        procs.append(proc)
        pump(proc, f"[{name}] " if name != "app" else "", logs[name])
        return proc

    started = time.monotonic()
    try:
        print(f"== starting voxrelay serve on {host}", flush=True)
        start("server", [sys.executable, "-m", "voxrelay", "serve", "--port", str(port),
                         "--project", PROJECT, "--token", TOKEN, "--data-dir", str(data_dir),
                         "--log-level", "warning"])
        http = httpx.Client(base_url=f"http://{host}", timeout=2.0)
        wait_until(lambda: http.get("/healthz").status_code == 200, 20, "the server")
        print(f"== starting the app {Path(args.app).name}", flush=True)
        start("app", [sys.executable, args.app])
        wait_until(lambda: http.get("/healthz").json()["sessions"] >= 1, 20, "the app to connect")
        print("== calling +15550002222 from +15550001111 into context 'default'", flush=True)
        caller = start("call", [sys.executable, "-m", "voxrelay", "call", "--context", "default",
                                "--from", "+15550001111", "--to", "+15550002222"])
        status = caller.wait(timeout=60)
        time.sleep(0.3)
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    progress = (re.match(r"\s*[\d.]+s\s+(.+)$", line) for line in logs["call"])
    states = [m.group(1) for m in progress if m]
    print("\n== summary")
    print(f"  call states seen by the caller: {' -> '.join(states) or 'none'}")
    print(f"  app output: {len(logs['app'])} lines; total time {time.monotonic() - started:.1f} s")
    print(f"  result: {'OK' if status == 0 else f'FAILED (voxrelay call exited {status})'}")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
