"""Where to connect: the ``host`` argument turned into a WebSocket URL (reference §1.1, §4.1).

Accepted forms: ``host``, ``host:port``, ``[v6addr]:port``, ``ws://host[:port]`` and
``wss://host[:port]`` (no path, no query). Without a scheme the official SDK always uses
``wss://``; voxrelay does the same except for loopback hosts (``localhost``, 127.0.0.0/8,
``::1``), which get ``ws://`` so a local server works without TLS. Give ``wss://`` explicitly
to force TLS on loopback.
"""

from __future__ import annotations

import ipaddress
import os
import ssl

DEFAULT_HOST = "relay.signalwire.com"
CA_FILE_ENV = "SIGNALWIRE_RELAY_CA_FILE"
_FORBIDDEN = frozenset("@/?#\r\n\t ")


def _split(hostport: str) -> tuple[str, str | None]:
    """``(hostname, port or None)``; IPv6 addresses may be bare or in brackets."""
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise ValueError(f"invalid host {hostport!r}: unclosed '['")
        rest = hostport[end + 1 :]
        if rest and not rest.startswith(":"):
            raise ValueError(f"invalid host {hostport!r}")
        return hostport[1:end], rest[1:] if rest else None
    if hostport.count(":") > 1:
        return hostport, None
    name, sep, port = hostport.partition(":")
    return name, port if sep else None


def is_loopback(hostname: str) -> bool:
    """True for ``localhost`` and loopback IP addresses (127.0.0.0/8, ::1)."""
    if hostname.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def websocket_url(host: str) -> str:
    """The ``ws://`` or ``wss://`` URL for ``host`` (forms above).

    Raises ValueError for an empty host, an unknown scheme, a bad port, or a host part
    holding any of ``@ / ? #``, whitespace, CR or LF.
    """
    host = host.strip()
    scheme: str | None = None
    if "://" in host:
        scheme, _, host = host.partition("://")
        scheme = scheme.lower()
        if scheme not in ("ws", "wss"):
            raise ValueError(f"invalid host: scheme must be ws or wss, not {scheme!r}")
        host = host.removesuffix("/")
    if not host or any(ch in _FORBIDDEN for ch in host):
        raise ValueError(f"invalid host {host!r}: expected hostname[:port]")
    name, port = _split(host)
    if not name:
        raise ValueError(f"invalid host {host!r}: empty hostname")
    if port is not None and not (port.isdigit() and 0 < int(port) < 65536):
        raise ValueError(f"invalid host {host!r}: bad port {port!r}")
    if scheme is None:
        scheme = "ws" if is_loopback(name) else "wss"
    netloc = f"[{name}]" if ":" in name else name
    return f"{scheme}://{netloc}" + (f":{port}" if port is not None else "")


def ssl_context(url: str) -> ssl.SSLContext | None:
    """TLS settings for ``url``: None for ``ws://``; for ``wss://`` the system trust store,
    or the CA bundle named by ``SIGNALWIRE_RELAY_CA_FILE`` when set."""
    if not url.startswith("wss://"):
        return None
    return ssl.create_default_context(cafile=os.environ.get(CA_FILE_ENV) or None)
