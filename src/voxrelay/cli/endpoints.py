"""Turning a user's ``host`` (``host``, ``host:port``, ``ws[s]://``, ``http[s]://``) into the
server's HTTP(S) base URL, and the CAs the CLI trusts for it."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path
from urllib.parse import urlsplit

LOOPBACK = ("127.", "localhost", "[::1]", "::1")
PROBE_TIMEOUT = 5.0  # seconds for the TLS probe of a loopback host:port


def local_ca(ca: Path | None, data_dir: Path) -> Path | None:
    """The CA file to trust besides the system's: ``ca``, or else the local CA a
    ``voxrelay serve --tls`` made in ``data_dir`` (``<data_dir>/tls/ca.pem``) if there is one."""
    if ca is not None:
        return ca
    local = data_dir / "tls" / "ca.pem"
    return local if local.exists() else None


def trust(cafile: Path | None) -> ssl.SSLContext:
    """The system's CAs, plus ``cafile``. Raises ``OSError`` (``ssl.SSLError`` included) for
    a file that is missing or holds no certificate."""
    context = ssl.create_default_context()
    if cafile is not None:
        context.load_verify_locations(cafile=str(cafile))
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


def http_base_url(host: str, probe: ssl.SSLContext | None = None) -> str:
    """The HTTP(S) base URL of the server at ``host``.

    Without a scheme, a loopback ``host`` uses plain http (a local development server; a
    ``serve --tls`` port serves it too), or https when given a ``probe`` context (the CLI
    has a local CA to trust) and the server at ``host:port`` speaks TLS (``speaks_tls``);
    any other host uses https, as the SDK does for WebSockets. Raises
    ``ssl.SSLCertVerificationError`` as ``speaks_tls`` does.
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
    if probe is None or name is None or port is None:
        return "http://" + host
    return ("https://" if speaks_tls(name, port, probe) else "http://") + host
