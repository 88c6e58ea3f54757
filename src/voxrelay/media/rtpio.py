"""Batched RTP socket I/O: every leg's datagrams read in one native call per tick, and every
packet the tick produced sent in one.

The uvloop transport (``media.transport``) hands each datagram to Python through a callback;
on our machines that alone costs about as much CPU as a leg's whole media work
(BENCHMARKS.md, "Media legs per core"). ``RtpSocketSet`` instead keeps the legs' UDP sockets
out of the event loop and is polled by the media tick: ``poll()`` reads every datagram waiting
on any socket (``rtpio.c``, epoll + ``recvfrom``) and hands each to its leg with its arrival
time; ``flush()`` sends every queued packet in one call. Each leg gets an ``RtpHandle``, with
the same surface as ``RtpTransport`` (``remote``, ``local``, ``send``, ``close``), so the
rest of the server does not care which is in use. Symmetric RTP (RFC 4961): a handle with
``latch`` sends to where the far end's first packet came from, and its socket is then
connected there, so datagrams from anyone else are dropped by the kernel (strict RTP) until
``remote`` is given another address.

The native part is a small C library (``rtpio.c``, no Python API) compiled with the system C
compiler by ``python -m voxrelay.media.rtpio build`` (``scripts/setup`` runs it) and loaded
with ctypes by a ``Loader``. Without it (no compiler), ``Loader.available()`` is False and the
server falls back to the uvloop transport.
"""

from __future__ import annotations

import ctypes
import logging
import os
import socket
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, cast

import numpy as np

from voxrelay.media.ports import bind_rtp_socket
from voxrelay.media.rtp import Datagrams

log = logging.getLogger(__name__)

Address = tuple[str, int]
SOURCE = Path(__file__).with_name("rtpio.c")
DATAGRAM_ROOM = 2048
"""Bytes kept per datagram; longer ones are dropped as invalid (RTP over UDP is < 1500)."""
BATCH = 4096
"""Datagrams read per native call; ``poll`` calls again while the batch comes back full."""


class RtpIoError(OSError):
    """The native library cannot be built or loaded, or a socket cannot be registered."""


class Receiver(Protocol):
    """What a handle serves: a Leg (datagrams go to ``deliver``; ``send`` is set to the
    handle's writer while it is open)."""

    send: Callable[[bytes], None] | None

    def deliver(self, data: bytes, arrival: float | None = None) -> None: ...

    def changed(self) -> None:
        """Its socket came or went: the tick re-plans which socket it sends on."""
        ...


# -- building and loading the library ----------------------------------------------------------


def library_path() -> Path:
    """Where the compiled library lives: next to its source, else in the user's cache."""
    name = "_rtpio.so"
    local = SOURCE.with_name(name)
    if os.access(SOURCE.parent, os.W_OK) or local.exists():
        return local
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "voxrelay"
    return cache / name


def build(force: bool = False) -> Path:
    """Compile ``rtpio.c`` with ``$CC`` (default ``cc``) unless the library is up to date.

    Returns the library's path. Raises RtpIoError with the compiler's message on failure."""
    target = library_path()
    if not force and target.exists() and target.stat().st_mtime >= SOURCE.stat().st_mtime:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.tmp")
    command = [os.environ.get("CC", "cc"), "-O2", "-shared", "-fPIC", "-Wall", "-o", str(partial)]
    try:
        result = subprocess.run(
            [*command, str(SOURCE)], capture_output=True, text=True, timeout=120, check=False
        )
    except OSError as exc:
        raise RtpIoError(f"cannot run the C compiler {command[0]!r}: {exc}") from None
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        raise RtpIoError(f"compiling {SOURCE.name} failed:\n{result.stderr.strip()}")
    os.replace(partial, target)
    return target


class Loader:
    """Builds (if needed) and loads the library once: ``load()`` gives the same handle, or
        raises the same RtpIoError, on every later call, so a failed build is not retried on
        every new socket set: whoever opens sets (the server's media) keeps one and hands it to
    each ``RtpSocketSet``. No state lives in the module."""

    def __init__(self) -> None:
        self._lib: ctypes.CDLL | None = None
        self._error: str | None = None

    def load(self) -> ctypes.CDLL:
        """The loaded library (built first if missing or stale and a compiler is at hand).

        Raises RtpIoError when it cannot be had."""
        if self._lib is not None:
            return self._lib
        if self._error is not None:
            raise RtpIoError(self._error)
        try:
            self._lib = _declare(ctypes.CDLL(str(build())))
        except OSError as exc:
            self._error = str(exc)
            raise RtpIoError(self._error) from None
        return self._lib

    def available(self) -> bool:
        """True when batched native I/O can be used (the library loads)."""
        try:
            self.load()
        except RtpIoError as exc:
            log.info("native RTP I/O unavailable, using the event loop's transports: %s", exc)
            return False
        return True


def _declare(lib: ctypes.CDLL) -> ctypes.CDLL:
    p, i = ctypes.c_void_p, ctypes.c_int
    signatures: dict[str, tuple[type | None, list[type]]] = {
        "rtpio_version": (i, []),
        "rtpio_new": (p, [i]),
        "rtpio_free": (None, [p]),
        "rtpio_add": (i, [p, i, i, i]),
        "rtpio_remove": (i, [p, i]),
        "rtpio_set_peer": (i, [p, i, ctypes.c_char_p, i, i]),
        "rtpio_get_peer": (i, [p, i, ctypes.c_char_p, i]),
        "rtpio_recv": (i, [p, p, i, p, p, p, i]),
        "rtpio_send": (i, [p, p, p, p, p, i]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype, function.argtypes = restype, argtypes
    if lib.rtpio_version() != 1:
        raise RtpIoError("the compiled rtpio library is of another version; rebuild it")
    return lib


# -- socket addresses as the C side sees them ------------------------------------------------


def sockaddr(address: Address) -> bytes:
    """``address`` (an IPv4 or IPv6 literal, or a name resolved now) as a C sockaddr."""
    host, port = address
    family, _, _, _, resolved = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
    if family == socket.AF_INET:
        packed = socket.inet_pton(socket.AF_INET, str(resolved[0]))
        return struct.pack("=H", family) + struct.pack("!H", port) + packed + bytes(8)
    packed = socket.inet_pton(socket.AF_INET6, str(resolved[0]))
    _, _, flow, scope = cast(tuple[str, int, int, int], resolved)
    return (
        struct.pack("=H", family)
        + struct.pack("!HI", port, flow)
        + packed
        + struct.pack("=I", scope)
    )


def address(raw: bytes) -> Address:
    """The (host, port) of a C sockaddr_in or sockaddr_in6."""
    (family,) = struct.unpack_from("=H", raw)
    (port,) = struct.unpack_from("!H", raw, 2)
    if family == socket.AF_INET:
        return socket.inet_ntop(socket.AF_INET, raw[4:8]), port
    return socket.inet_ntop(socket.AF_INET6, raw[8:24]), port


# -- the set of sockets one media clock polls -----------------------------------------------


class RtpSocketSet:
    """The RTP sockets of every leg one media clock drives (see module docstring).

    ``capacity`` is the most sockets open at once; ``loader`` gets the library. Raises
    RtpIoError when the library is unavailable."""

    def __init__(self, capacity: int = 16384, loader: Loader | None = None) -> None:
        self._lib = (loader or Loader()).load()
        self._set = self._lib.rtpio_new(capacity)
        if not self._set:
            raise RtpIoError("rtpio_new failed (out of memory or file descriptors)")
        self.capacity = capacity
        self._receivers: list[Receiver | None] = [None] * capacity
        self._slot_of: dict[int, int] = {}  # id(receiver) -> slot
        self._free = list(range(capacity - 1, -1, -1))
        self._buf = np.zeros((BATCH, DATAGRAM_ROOM), dtype=np.uint8)
        self._slots = np.zeros(BATCH, dtype=np.int32)
        self._lens = np.zeros(BATCH, dtype=np.int32)
        self._arrivals = np.zeros(BATCH, dtype=np.float64)
        self._out_slots: list[int] = []
        self._out_data: list[bytes] = []
        self.invalid = 0  # datagrams too long to be RTP, dropped

    def open(
        self,
        receiver: Receiver,
        host: str,
        remote: Address | None = None,
        port_range: tuple[int, int] = (20000, 30000),
        attempts: int = 50,
        *,
        latch: bool = True,
    ) -> RtpHandle:
        """A socket on an even port of ``port_range`` for ``receiver`` (a Leg), sending to
        ``remote``. Raises OSError when no port is free or the set is full."""
        if not self._free:
            raise RtpIoError(f"all {self.capacity} RTP sockets of the set are in use")
        sock = bind_rtp_socket(host, port_range, attempts)
        slot = self._free.pop()
        error = self._lib.rtpio_add(self._set, slot, sock.fileno(), int(latch))
        if error:
            sock.close()
            self._free.append(slot)
            raise RtpIoError(-error, f"cannot register an RTP socket: {os.strerror(-error)}")
        self._receivers[slot] = receiver
        self._slot_of[id(receiver)] = slot
        receiver.changed()  # the tick re-plans which socket each leg sends on
        handle = RtpHandle(self, slot, sock, receiver, latch)
        handle.remote = remote
        return handle

    def poll(self) -> tuple[np.ndarray[Any, np.dtype[np.int64]], Datagrams]:
        """Every datagram waiting on the set's sockets, without blocking, with the slot it
        came on (``receiver_of`` gives its Leg). Rows of the ``Datagrams`` view a buffer the
        next poll reuses; a size of -1 marks a datagram longer than ``DATAGRAM_ROOM`` (cut
        off: drop it)."""
        chunks: list[tuple[np.ndarray[Any, np.dtype[np.int64]], Datagrams]] = []
        while True:
            count: int = self._lib.rtpio_recv(
                self._set,
                self._buf.ctypes.data,
                DATAGRAM_ROOM,
                self._slots.ctypes.data,
                self._lens.ctypes.data,
                self._arrivals.ctypes.data,
                BATCH,
            )
            count = max(count, 0)
            self.invalid += int(np.count_nonzero(self._lens[:count] < 0))
            slots = self._slots[:count].astype(np.int64)
            chunk = Datagrams(
                self._buf[:count],
                self._lens[:count].astype(np.int64),
                self._arrivals[:count].copy(),
            )
            if count < BATCH and not chunks:
                return slots, chunk
            chunks.append((slots, chunk.pick(slice(None))))  # a copy: the buffer is reused
            if count < BATCH:
                return np.concatenate([s for s, _ in chunks]), Datagrams(
                    np.concatenate([c.data for _, c in chunks]),
                    np.concatenate([c.size for _, c in chunks]),
                    np.concatenate([c.arrival for _, c in chunks]),
                )

    def receiver_of(self, slot: int) -> Receiver | None:
        """The Leg on ``slot``, if any."""
        return self._receivers[slot]

    def deliver(self) -> int:
        """``poll`` and hand each datagram to its receiver's ``deliver`` (for sets no
        engine ticks); returns how many were delivered."""
        slots, datagrams = self.poll()
        delivered = 0
        for k, slot in enumerate(slots.tolist()):
            receiver = self._receivers[slot]
            if receiver is not None and datagrams.size[k] >= 0:
                receiver.deliver(datagrams.bytes(k), float(datagrams.arrival[k]))
                delivered += 1
        return delivered

    def flush(self) -> int:
        """Send every packet queued by the handles since the last flush; returns how many
        were sent (packets of handles with no remote yet are dropped)."""
        count = len(self._out_data)
        if not count:
            return 0
        data, slots = self._out_data, self._out_slots
        self._out_data, self._out_slots = [], []
        lens = np.fromiter(map(len, data), dtype=np.int32, count=count)
        offsets = np.zeros(count, dtype=np.int64)
        np.cumsum(lens[:-1], out=offsets[1:])
        block = np.frombuffer(b"".join(data), dtype=np.uint8)
        return self._send(block, np.array(slots, dtype=np.int32), offsets, lens)

    def slots_of(self, receivers: list[Receiver]) -> list[int]:
        """The socket (slot) of each receiver, -1 for one without a socket here."""
        slot_of = self._slot_of
        return [slot_of.get(id(r), -1) for r in receivers]

    def send_rows(self, slots: np.ndarray[Any, Any], packets: np.ndarray[Any, Any]) -> int:
        """Send ``packets[k]`` (a (k, size) uint8 matrix) on socket ``slots[k]`` now, each to
        its socket's remote; returns how many were sent."""
        count, size = packets.shape
        if not count:
            return 0
        offsets = np.arange(count, dtype=np.int64) * size
        lens = np.full(count, size, dtype=np.int32)
        return self._send(np.ascontiguousarray(packets), slots.astype(np.int32), offsets, lens)

    def _send(self, block: Any, slots: Any, offsets: Any, lens: Any) -> int:
        """``rtpio_send``: packet k is ``block[offsets[k]:offsets[k] + lens[k]]`` on
        ``slots[k]`` (the arrays stay referenced until C has read them)."""
        sent: int = self._lib.rtpio_send(
            self._set,
            block.ctypes.data,
            slots.ctypes.data,
            offsets.ctypes.data,
            lens.ctypes.data,
            len(lens),
        )
        return sent

    def close(self) -> None:
        """Free the native set (handles must be closed first)."""
        if self._set:
            self._lib.rtpio_free(self._set)
            self._set = None

    # -- for RtpHandle ---------------------------------------------------------------------

    def _queue(self, slot: int, data: bytes) -> None:
        self._out_slots.append(slot)
        self._out_data.append(data)

    def _set_peer(self, slot: int, remote: Address | None, latch: bool) -> None:
        raw = sockaddr(remote) if remote is not None else b""
        self._lib.rtpio_set_peer(self._set, slot, raw, len(raw), int(latch))

    def _get_peer(self, slot: int) -> Address | None:
        room = ctypes.create_string_buffer(128)
        size = self._lib.rtpio_get_peer(self._set, slot, room, len(room))
        return address(room.raw[:size]) if size > 0 else None

    def _release(self, slot: int) -> None:
        self._lib.rtpio_remove(self._set, slot)
        receiver = self._receivers[slot]
        if receiver is not None and self._slot_of.get(id(receiver)) == slot:
            del self._slot_of[id(receiver)]
        self._receivers[slot] = None
        if receiver is not None:
            receiver.changed()
        self._out_data = [
            d for s, d in zip(self._out_slots, self._out_data, strict=True) if s != slot
        ]
        self._out_slots = [s for s in self._out_slots if s != slot]
        self._free.append(slot)


class RtpHandle:
    """One leg's socket in an ``RtpSocketSet``: what ``RtpTransport`` is for the event loop.

    ``send`` queues a datagram for the set's next ``flush``; ``remote`` is where packets go
    (the source of the far end's first packet once it arrives, when ``latch``; setting it
    to another address latches anew)."""

    def __init__(
        self, owner: RtpSocketSet, slot: int, sock: socket.socket, leg: Receiver, latch: bool
    ) -> None:
        self._owner: RtpSocketSet | None = owner
        self._slot = slot
        self._sock = sock
        self._leg = leg
        self.latch = latch
        self.local: Address = sock.getsockname()[:2]
        leg.send = self.send

    @property
    def remote(self) -> Address | None:
        return self._owner._get_peer(self._slot) if self._owner is not None else None

    @remote.setter
    def remote(self, value: Address | None) -> None:
        if self._owner is not None:
            self._owner._set_peer(self._slot, value, self.latch)

    def send(self, data: bytes) -> None:
        if self._owner is not None:
            self._owner._queue(self._slot, data)

    def close(self) -> None:
        """Unregister and close the socket; idempotent."""
        if self._owner is not None:
            self._owner._release(self._slot)
            self._owner = None
            self._sock.close()
        self._leg.send = None


def main(argv: list[str]) -> int:
    """``python -m voxrelay.media.rtpio build``: compile the library (for scripts/setup)."""
    if argv[:1] != ["build"]:
        print("usage: python -m voxrelay.media.rtpio build", file=sys.stderr)
        return 2
    try:
        path = build(force="--force" in argv)
    except RtpIoError as exc:
        print(f"rtpio: {exc}\nvoxrelay will use the event loop's RTP transport.", file=sys.stderr)
        return 1
    print(f"rtpio: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
