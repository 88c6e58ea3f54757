"""Turning a user's ``host`` (``host``, ``host:port``, ``ws[s]://``, ``http[s]://``) into URLs."""

from __future__ import annotations

LOOPBACK = ("127.", "localhost", "[::1]", "::1")


def http_base_url(host: str) -> str:
    """The HTTP(S) base URL of the server at ``host``.

    Without a scheme, loopback hosts use plain http (a local development server) and every
    other host https, as the SDK does for WebSockets.
    """
    for ws, http in (("wss://", "https://"), ("ws://", "http://")):
        if host.startswith(ws):
            return http + host.removeprefix(ws).rstrip("/")
    if host.startswith(("http://", "https://")):
        return host.rstrip("/")
    scheme = "http://" if host.startswith(LOOPBACK) else "https://"
    return scheme + host.rstrip("/")
