"""``voxrelay serve --tls``: one port serves TLS and plain connections, HTTP and WebSocket;
``--tls-only`` refuses plain ones; a connection that sends nothing is closed."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator

import httpx
import pytest
import websockets

from tests.wire import WireClient
from voxrelay.testing import LocalServer

SILENT_TIMEOUT = "0.5"  # --first-byte-timeout for these servers


@pytest.fixture(scope="module")
def dual_server() -> Iterator[LocalServer]:
    yield from LocalServer.fixture(tls=True, extra_args=["--first-byte-timeout", SILENT_TIMEOUT])


@pytest.fixture(scope="module")
def tls_only_server() -> Iterator[LocalServer]:
    yield from LocalServer.fixture(
        tls=True, extra_args=["--tls-only", "--first-byte-timeout", SILENT_TIMEOUT]
    )


def trusting(server: LocalServer) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(server.ca_file))


def test_https_and_plain_http_on_the_same_port(dual_server: LocalServer) -> None:
    with dual_server.http() as https:
        assert https.base_url.scheme == "https"
        assert https.get("/healthz").json()["ok"] is True
    plain = httpx.get(f"http://{dual_server.host}/healthz", timeout=10)
    assert plain.status_code == 200 and plain.json()["ok"] is True


async def test_wss_and_plain_ws_sessions_on_the_same_port(dual_server: LocalServer) -> None:
    secure = WireClient(f"wss://{dual_server.host}", ssl=trusting(dual_server))
    plain = WireClient(f"ws://{dual_server.host}")
    for client in (secure, plain):
        reply = await client.connect(dual_server.project, dual_server.token, ["office"])
        assert reply["result"]["protocol"], reply
    for client in (secure, plain):
        await client.close()


def test_a_tls_client_gets_the_local_ca_certificate(dual_server: LocalServer) -> None:
    with (
        socket.create_connection(("127.0.0.1", dual_server.port), timeout=10) as raw,
        trusting(dual_server).wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
        assert tls.selected_alpn_protocol() in (None, "http/1.1")
    untrusting = ssl.create_default_context()  # the system's CAs only
    with (
        socket.create_connection(("127.0.0.1", dual_server.port), timeout=10) as raw,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        untrusting.wrap_socket(raw, server_hostname="127.0.0.1")


@pytest.mark.parametrize("first_bytes", [b"", b"\x16"], ids=["nothing", "half-a-hello"])
def test_a_connection_that_stops_sending_is_closed(
    dual_server: LocalServer, first_bytes: bytes
) -> None:
    with socket.create_connection(("127.0.0.1", dual_server.port), timeout=15) as sock:
        sock.sendall(first_bytes)
        try:
            data = sock.recv(100)
        except ConnectionResetError:
            data = b""
        assert data == b""  # the server closed it (recv did not time out)
    with dual_server.http() as http:  # and keeps serving
        assert http.get("/healthz").status_code == 200


def test_tls_only_refuses_plain_http_and_serves_https(tls_only_server: LocalServer) -> None:
    refused = httpx.get(f"http://{tls_only_server.host}/healthz", timeout=10)
    assert refused.status_code == 400
    assert "TLS" in refused.text and "https://" in refused.text
    with tls_only_server.http() as https:
        assert https.get("/healthz").json()["ok"] is True


async def test_tls_only_refuses_plain_ws_and_serves_wss(tls_only_server: LocalServer) -> None:
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(f"ws://{tls_only_server.host}")
    assert refused.value.response.status_code == 400
    secure = WireClient(f"wss://{tls_only_server.host}", ssl=trusting(tls_only_server))
    reply = await secure.connect(tls_only_server.project, tls_only_server.token, ["office"])
    assert reply["result"]["protocol"], reply
    await secure.close()


def test_the_banner_says_what_the_port_serves(
    dual_server: LocalServer, tls_only_server: LocalServer
) -> None:
    dual = dual_server.log_path.read_text()
    assert f"wss://{dual_server.host}/  (ws:// and http:// too)" in dual
    only = tls_only_server.log_path.read_text()
    assert f"wss://{tls_only_server.host}/  (plain connections refused)" in only
