"""``SniffingListener`` in-process, on asyncio's own loop and on uvloop: TLS and plain
connections on one port reach the same protocol, ``tls_only`` refuses plain ones, a silent
connection is closed, and closing the listener closes the connections not yet handed over."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
import uvloop

from voxrelay.server.listener import REFUSAL, SniffingListener, bind_sockets
from voxrelay.server.tls import ensure_local_ca

LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "asyncio": asyncio.new_event_loop,
    "uvloop": uvloop.new_event_loop,
}


class Greeter(asyncio.Protocol):
    """Answers each chunk with ``tls:<chunk>`` or ``plain:<chunk>``, as its transport is."""

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.kind = b"tls:" if transport.get_extra_info("sslcontext") else b"plain:"

    def data_received(self, data: bytes) -> None:
        self.transport.write(self.kind + data)


@pytest.fixture(params=list(LOOPS))
def run(request: pytest.FixtureRequest) -> Callable[[Coroutine[Any, Any, None]], None]:
    def runner(main: Coroutine[Any, Any, None]) -> None:
        with asyncio.Runner(loop_factory=LOOPS[request.param]) as r:
            r.run(asyncio.wait_for(main, 20))

    return runner


def contexts(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    files = ensure_local_ca(tmp_path)
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(files.cert, files.key)
    return server, ssl.create_default_context(cafile=str(files.ca_cert))


async def listening(server_ssl: ssl.SSLContext, **kw: Any) -> tuple[SniffingListener, int]:
    sockets = bind_sockets("127.0.0.1", 0)
    listener = SniffingListener(sockets, Greeter, server_ssl, **kw)
    listener.start()
    return listener, sockets[0].getsockname()[1]


async def exchange(port: int, data: bytes, client_ssl: ssl.SSLContext | None = None) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client_ssl)
    writer.write(data)
    answer = await reader.read(100)
    writer.close()
    return answer


async def closed(reader: asyncio.StreamReader) -> bool:
    try:
        return await reader.read(100) == b""
    except ConnectionResetError:
        return True


def test_tls_and_plain_reach_the_same_protocol(run: Any, tmp_path: Path) -> None:
    server_ssl, client_ssl = contexts(tmp_path)

    async def main() -> None:
        listener, port = await listening(server_ssl)
        assert await exchange(port, b"hello", client_ssl) == b"tls:hello"
        assert await exchange(port, b"hello") == b"plain:hello"
        listener.close()
        await listener.wait_closed()

    run(main())


def test_tls_only_refuses_plain(run: Any, tmp_path: Path) -> None:
    server_ssl, client_ssl = contexts(tmp_path)

    async def main() -> None:
        listener, port = await listening(server_ssl, tls_only=True)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        assert await reader.read() == REFUSAL  # all of it, then the server closed
        writer.close()
        assert await exchange(port, b"hello", client_ssl) == b"tls:hello"
        listener.close()
        await listener.wait_closed()

    run(main())


def test_a_silent_connection_is_closed_and_close_drops_waiting_ones(
    run: Any, tmp_path: Path
) -> None:
    server_ssl, _ = contexts(tmp_path)

    async def main() -> None:
        listener, port = await listening(server_ssl, first_byte_timeout=0.2)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await closed(reader)  # by the server: the client sent nothing
        writer.close()
        listener.first_byte_timeout = 60.0
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await asyncio.sleep(0.1)  # accepted, waiting for a first byte
        listener.close()
        assert await closed(reader)
        writer.close()
        await listener.wait_closed()
        with pytest.raises(OSError):
            await asyncio.open_connection("127.0.0.1", port)

    run(main())
