"""baresip as a real softphone for demos and tests: a network namespace, a headless baresip,
driven over its ctrl_tcp.

baresip advertises the address of its default-route interface in SDP and Contact (``eth0``
here), so it runs inside a network namespace (``Netns``) whose only interface besides ``lo``
is one end of a veth pair carrying a loopback address (``inner``, e.g. 127.0.1.1). The other
end stays in the test's namespace with ``outer`` (e.g. 127.0.1.2); the voxrelay server binds
SIP and RTP there (``LocalServer(sip_host=ns.outer, rtp_host=ns.outer)``) while its
WebSocket/HTTP stay on 127.0.0.1. 127/8 addresses on a veth need ``route_localnet`` on both
ends and a /32 route in each namespace's ``local`` table (which otherwise sends all of 127/8 to
``lo``). Deleting the namespace deletes the veth pair and those routes; nothing else changes.

``Baresip`` writes a config dir (account, aufile source padded with silence so EOF never
hangs up, sndfile recordings, ctrl_tcp on ``inner``), starts ``baresip -f DIR`` in the
namespace and drives it over ctrl_tcp (JSON in netstrings): ``dial``, ``accept``, ``sndcode``,
``hangup``; events (CALL_INCOMING, CALL_ESTABLISHED, CALL_CLOSED, REGISTER_OK, REGISTER_FAIL...)
are collected in ``events``. ``heard()`` reads what it decoded (``dump-*-dec.wav``).
Everything is bounded by timeouts; ``stop()``/``Netns.delete()`` are safe to call twice, and
namespaces left by a killed test process are swept by the next ``Netns.create()``.

Registering: baresip 1.0 (libre 1.1) fails on a 401 whose first challenge is SHA-256, so the
server needs ``[sip] digest_algorithms = ["MD5"]`` (``LocalServer(sip_settings=...)``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import soundfile

BARESIP = shutil.which("baresip") or "/usr/bin/baresip"
MODULES = Path("/usr/lib/baresip/modules")
RATE = 8000

_serial = itertools.count(1)


def available() -> str | None:
    """Why baresip tests cannot run here, or None if they can."""
    if not Path(BARESIP).exists() or not (MODULES / "ctrl_tcp.so").exists():
        return "baresip (baresip-core) is not installed"
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "ip (iproute2) is not installed"
    return None


def _run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, timeout=10)


class Netns:
    """A network namespace joined to ours by a veth pair with loopback addresses on both ends."""

    def __init__(self) -> None:
        n = next(_serial)
        pid = os.getpid()
        self.name = f"vxbs{pid}-{n}"
        tag = f"{pid % 100000}{n % 100}"
        self.inner_if, self.outer_if = f"vxi{tag}", f"vxo{tag}"
        # a /30-like pair per namespace, unique per process and instance
        b, c = 1 + pid % 250, (n * 4) % 256
        self.inner, self.outer = f"127.{b}.{c}.1", f"127.{b}.{c}.2"
        self._ports = itertools.count(0)
        self.created = False

    @property
    def prefix(self) -> list[str]:
        """Command prefix that runs a program inside the namespace."""
        return ["ip", "netns", "exec", self.name]

    def create(self) -> Netns:
        sweep_stale()
        _run("ip", "netns", "add", self.name)
        self.created = True
        try:
            ns = self.prefix
            _run(*ns, "ip", "link", "set", "lo", "up")
            _run(
                "ip", "link", "add", self.outer_if, "type", "veth",
                "peer", "name", self.inner_if, "netns", self.name,
            )  # fmt: skip
            _run(*ns, "ip", "addr", "add", f"{self.inner}/32", "dev", self.inner_if)
            _run("ip", "addr", "add", f"{self.outer}/32", "dev", self.outer_if)
            _run("sysctl", "-qw", f"net.ipv4.conf.{self.outer_if}.route_localnet=1")
            _run(*ns, "sysctl", "-qw", f"net.ipv4.conf.{self.inner_if}.route_localnet=1")
            _run("ip", "link", "set", self.outer_if, "up")
            _run(*ns, "ip", "link", "set", self.inner_if, "up")
            _run(
                "ip", "route", "add", f"{self.inner}/32", "dev", self.outer_if,
                "src", self.outer, "table", "local",
            )  # fmt: skip
            _run(
                *ns, "ip", "route", "add", f"{self.outer}/32", "dev", self.inner_if,
                "src", self.inner, "table", "local",
            )  # fmt: skip
        except BaseException:
            self.delete()
            raise
        return self

    def delete(self) -> None:
        if self.created:
            self.created = False
            subprocess.run(["ip", "netns", "del", self.name], capture_output=True, timeout=10)
            # the veth pair (and routes on it) goes with the namespace; make sure it has
            subprocess.run(["ip", "link", "del", self.outer_if], capture_output=True, timeout=10)

    def next_slot(self) -> int:
        """A distinct port block for each baresip in this namespace."""
        return next(self._ports)

    def __enter__(self) -> Netns:
        return self.create()

    def __exit__(self, *exc: object) -> None:
        self.delete()


def sweep_stale() -> None:
    """Delete namespaces left by test processes that died before their cleanup ran."""
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=10)
    for line in listing.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        if not name.startswith("vxbs") or "-" not in name:
            continue
        pid = name[4:].split("-", 1)[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)


def netstring(data: bytes) -> bytes:
    return str(len(data)).encode() + b":" + data + b","


class Baresip:
    """One headless baresip in ``netns`` (see module docstring)."""

    def __init__(
        self,
        netns: Netns,
        workdir: Path,
        *,
        user: str = "bs",
        registrar: str | None = None,
        password: str | None = None,
        answermode: str = "manual",
        audio: npt.NDArray[np.int16] | None = None,
        pad_seconds: float = 120.0,
        regint: int = 60,
    ) -> None:
        """``registrar`` ("host:port"): REGISTER there as ``user`` (digest ``password``);
        without it, no registration. ``audio`` (8 kHz int16) is what it says in every call,
        followed by ``pad_seconds`` of silence."""
        self.netns = netns
        slot = netns.next_slot()
        self.dir = workdir / f"baresip-{user}-{slot}"
        self.user = user
        self.host = netns.inner
        self.sip_port = 5070 + 10 * slot
        self.ctrl_port = 4444 + slot
        self.rtp_ports = (40000 + 100 * slot, 40000 + 100 * slot + 99)
        self.registrar = registrar
        self.password = password
        self.answermode = answermode
        self.regint = regint if registrar else 0
        self.audio = audio if audio is not None else np.zeros(0, dtype=np.int16)
        self.pad_seconds = pad_seconds
        self.events: list[dict[str, Any]] = []
        self.process: subprocess.Popen[bytes] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._new = asyncio.Event()
        self._tokens = itertools.count(1)

    # -- files ------------------------------------------------------------------------

    @property
    def aor(self) -> str:
        return f"sip:{self.user}@{self.registrar or f'{self.host}:{self.sip_port}'}"

    @property
    def uri(self) -> str:
        """Where to INVITE this phone directly."""
        return f"sip:{self.user}@{self.host}:{self.sip_port}"

    @property
    def account(self) -> str:
        """The accounts-file line (also the ``uanew`` parameter)."""
        account = f"<{self.aor}>;regint={self.regint};answermode={self.answermode}"
        if self.password is not None:
            account += f";auth_user={self.user};auth_pass={self.password}"
        return account

    @property
    def rec_dir(self) -> Path:
        return self.dir / "rec"

    @property
    def log_path(self) -> Path:
        return self.dir / "baresip.log"

    def _write_files(self) -> None:
        self.rec_dir.mkdir(parents=True, exist_ok=True)
        wav = self.dir / "say.wav"
        padded = np.concatenate(
            [self.audio.astype(np.int16), np.zeros(int(self.pad_seconds * RATE), np.int16)]
        )
        soundfile.write(str(wav), padded, RATE, subtype="PCM_16")
        config = {
            "poll_method": "epoll",
            "call_local_timeout": "120",
            "call_max_calls": "4",
            "sip_listen": f"{self.host}:{self.sip_port}",
            "sip_trans_def": "udp",
            "audio_player": "aubridge,nowhere",
            "audio_source": f"aufile,{wav}",
            "audio_alert": "aubridge,nowhere",
            "ausrc_srate": str(RATE),
            "auplay_srate": str(RATE),
            "ausrc_channels": "1",
            "auplay_channels": "1",
            "audio_buffer": "20-160",
            "rtcp_mux": "no",
            "jitter_buffer_delay": "1-10",
            "rtp_ports": f"{self.rtp_ports[0]}-{self.rtp_ports[1]}",
            "rtp_timeout": "0",
            "net_interface": self.netns.inner_if,
            "module_path": str(MODULES),
            "ctrl_tcp_listen": f"{self.host}:{self.ctrl_port}",
            "snd_path": str(self.rec_dir),
        }
        lines = [f"{k}\t\t{v}" for k, v in config.items()]
        lines += [f"module\t\t{m}" for m in ("g711.so", "aufile.so", "aubridge.so", "sndfile.so")]
        lines += ["module_tmp\t\taccount.so", "module_app\t\tmenu.so", "module_app\t\tctrl_tcp.so"]
        (self.dir / "config").write_text("\n".join(lines) + "\n")
        # a registering account is added with ``uanew`` once ctrl_tcp is connected, so that
        # its REGISTER_OK / REGISTER_FAIL event is not sent before anyone listens
        (self.dir / "accounts").write_text("" if self.registrar else self.account + "\n")
        (self.dir / "contacts").write_text("")

    # -- lifecycle --------------------------------------------------------------------

    async def start(self, timeout: float = 10.0) -> Baresip:
        self._write_files()
        log = self.log_path.open("wb")
        try:
            self.process = subprocess.Popen(
                [*self.netns.prefix, BARESIP, "-f", str(self.dir), "-v"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"baresip exited early:\n{self.log()}")
            try:
                reader, self._writer = await asyncio.wait_for(
                    asyncio.open_connection(self.host, self.ctrl_port), 1.0
                )
                break
            except (OSError, TimeoutError):
                if time.monotonic() <= deadline:
                    await asyncio.sleep(0.1)
                    continue
            await self.stop()
            raise RuntimeError(f"baresip ctrl_tcp not up in {timeout} s:\n{self.log()}")
        self._reader = asyncio.create_task(self._read(reader))
        if self.registrar:
            reply = await self.command("uanew", self.account)
            if not reply.get("ok"):
                await self.stop()
                raise RuntimeError(f"baresip uanew failed: {reply}\n{self.log()}")
        return self

    async def stop(self) -> None:
        """Quit baresip (its recordings are closed) and wait; kill it if it lingers."""
        proc, self.process = self.process, None
        if proc is not None and proc.poll() is None and self._writer is not None:
            with contextlib.suppress(Exception):
                await self.command("quit", timeout=2.0)
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(BaseException):
                await self._reader
            self._reader = None
        if proc is not None:
            for last_resort in (proc.terminate, proc.kill, None):
                try:
                    await asyncio.to_thread(proc.wait, 3.0)
                    break
                except subprocess.TimeoutExpired:
                    if last_resort is not None:
                        last_resort()

    async def __aenter__(self) -> Baresip:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    # -- ctrl_tcp -----------------------------------------------------------------------

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                length = int((await reader.readuntil(b":"))[:-1])
                data = await reader.readexactly(length + 1)
                msg = json.loads(data[:-1])
                if msg.get("event"):
                    self.events.append(msg)
                    self._new.set()
                elif msg.get("response"):
                    fut = self._pending.pop(str(msg.get("token")), None)
                    if fut is not None and not fut.done():
                        fut.set_result(msg)
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            self._new.set()
            for fut in self._pending.values():
                if not fut.done():
                    fut.set_exception(ConnectionError("baresip ctrl_tcp closed"))

    async def command(self, command: str, params: str = "", timeout: float = 5.0) -> dict[str, Any]:
        """Run a command; returns baresip's response ({"ok": bool, "data": str, ...})."""
        if self._writer is None:
            raise ConnectionError("baresip is not running")
        token = f"t{next(self._tokens)}"
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[token] = fut
        body = {"command": command, "params": params, "token": token}
        self._writer.write(netstring(json.dumps(body).encode()))
        await self._writer.drain()
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            self._pending.pop(token, None)

    async def dial(self, uri: str) -> dict[str, Any]:
        return await self.command("dial", uri)

    async def accept(self) -> dict[str, Any]:
        return await self.command("accept")

    async def hangup(self) -> dict[str, Any]:
        return await self.command("hangup")

    async def sndcode(self, digits: str, gap: float = 0.3) -> None:
        """Send each digit as RFC 4733 events, ``gap`` seconds apart."""
        for digit in digits:
            await self.command("sndcode", digit)
            await asyncio.sleep(gap)

    async def wait_event(self, kind: str, timeout: float = 10.0, **match: Any) -> dict[str, Any]:
        """The first event of type ``kind`` (e.g. CALL_ESTABLISHED) with the given fields."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for ev in self.events:
                if ev.get("type") == kind and all(ev.get(k) == v for k, v in match.items()):
                    return ev
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                got = [e.get("type") for e in self.events]
                raise TimeoutError(f"baresip: no {kind} {match} in {timeout} s; got {got}")
            self._new.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new.wait(), remaining)

    def types(self) -> list[str]:
        return [str(e.get("type")) for e in self.events]

    # -- recordings ---------------------------------------------------------------------

    def recordings(self, kind: str = "dec") -> list[Path]:
        """sndfile's files, oldest first: ``dec`` what it heard, ``enc`` what it sent."""
        return sorted(self.rec_dir.glob(f"dump-*-{kind}.wav"), key=lambda p: p.stat().st_mtime)

    def heard(self, index: int = -1) -> npt.NDArray[np.int16]:
        """What it heard in a call (the last by default), as 8 kHz int16 samples.

        Read from the raw data chunk, so a file still being written (its header sizes not yet
        final) reads too."""
        files = self.recordings("dec")
        if not files:
            raise FileNotFoundError(f"no dec recording in {self.rec_dir}")
        return read_wav_data(files[index])


def read_wav_data(path: Path) -> npt.NDArray[np.int16]:
    """The 16-bit samples of a WAV whose header sizes may not be final yet."""
    raw = path.read_bytes()
    pos = 12
    while pos + 8 <= len(raw):
        chunk, size = raw[pos : pos + 4], int.from_bytes(raw[pos + 4 : pos + 8], "little")
        if chunk == b"fmt ":
            rate = int.from_bytes(raw[pos + 12 : pos + 16], "little")
            if rate != RATE:
                raise ValueError(f"{path}: {rate} Hz, expected {RATE}")
        if chunk == b"data":
            data = raw[pos + 8 :]
            return np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2").astype(np.int16)
        pos += 8 + size + (size & 1)
    raise ValueError(f"{path}: no data chunk")
