"""Turning a user's ``host`` (``host``, ``host:port``, ``ws[s]://``, ``http[s]://``) into the
server's HTTP(S) base URL, and the CAs the CLI trusts for it."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path
from urllib.parse import urlsplit

LOOPBACK = ("127.", "localhost", "[::1]", "::1")
PROBE_TIMEOUT = 5.0  # seconds for the TLS probe of a loopback host:port


def trust(ca: Path | None, data_dir: Path) -> ssl.SSLContext:
    """The system's CAs plus ``ca``, or else the local CA a ``voxrelay serve --tls`` made in
    ``data_dir`` (``<data_dir>/tls/ca.pem``), when there is one."""
    context = ssl.create_default_context()
    local = data_dir / "tls" / "ca.pem"
    if ca is not None:
        context.load_verify_locations(cafile=str(ca))
    elif local.exists():
        context.load_verify_locations(cafile=str(local))
    return context


def speaks_tls(host: str, port: int, context: ssl.SSLContext) -> bool:
    """Whether the server at ``host:port`` completes a TLS handshake. False when it does not
    speak TLS or cannot be reached (the HTTP request that follows reports that); raises
    ``ssl.SSLCertVerificationError`` when it speaks TLS with a certificate ``context`` does
    not trust."""
    try:
        with (
            socket.create_connection((host, port), PROBE_TIMEOUT) as sock,
            context.wrap_socket(sock, server_hostname=host),
        ):
            return True
    except ssl.SSLCertVerificationError:
        raise
    except OSError:  # ssl.SSLError included: a plain server answers the ClientHello with 400
        return False


def http_base_url(host: str, context: ssl.SSLContext) -> str:
    """The HTTP(S) base URL of the server at ``host``.

    Without a scheme, a loopback ``host:port`` uses https when the server speaks TLS there
    (``speaks_tls``) and plain http otherwise (a local development server); any other host
    uses https, as the SDK does for WebSockets.
    """
    for ws, http in (("wss://", "https://"), ("ws://", "http://")):
        if host.startswith(ws):
            return http + host.removeprefix(ws).rstrip("/")
    if host.startswith(("http://", "https://")):
        return host.rstrip("/")
    host = host.rstrip("/")
    if not host.startswith(LOOPBACK):
        return "https://" + host
    address = urlsplit("//" + host)
    name, port = address.hostname, address.port
    tls = name is not None and port is not None and speaks_tls(name, port, context)
    return ("https://" if tls else "http://") + host
