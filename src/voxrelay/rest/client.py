"""``RestClient`` (sync) and ``AsyncRestClient``: the REST calling API over httpx.

Arguments fall back to the environment like the SignalWire SDK: ``project`` to
``SIGNALWIRE_PROJECT_ID``, ``token`` to ``SIGNALWIRE_API_TOKEN``, ``host`` to
``SIGNALWIRE_SPACE``; all three are needed. ``host`` is ``host``, ``host:port`` or an
``http(s)://`` URL; without a scheme loopback hosts use ``http://`` and every other host
``https://``. ``SIGNALWIRE_REST_CA_FILE`` names a CA bundle to trust (e.g. the one
``voxrelay serve --tls`` prints). ``transport`` takes any httpx transport (tests).
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Awaitable, Mapping
from typing import Any

import httpx

from voxrelay import __version__
from voxrelay.relay.address import websocket_url
from voxrelay.rest.calling import CallingCommands
from voxrelay.rest.errors import RestError, RestTransportError

JsonDict = dict[str, Any]
PATH = "/api/calling/calls"
CA_FILE_ENV = "SIGNALWIRE_REST_CA_FILE"


def base_url(host: str) -> str:
    """The ``http(s)://host[:port]`` for ``host`` (forms in the module docstring)."""
    host = host.strip()
    scheme: str | None = None
    if "://" in host:
        scheme, _, host = host.partition("://")
        scheme = scheme.lower()
        if scheme not in ("http", "https"):
            raise ValueError(f"invalid host: scheme must be http or https, not {scheme!r}")
        host = host.removesuffix("/")
    ws = websocket_url(host)  # validates; ws:// for loopback, wss:// otherwise
    default, _, netloc = ws.partition("://")
    return f"{scheme or ('http' if default == 'ws' else 'https')}://{netloc}"


def _settings(
    project: str | None, token: str | None, host: str | None
) -> tuple[str, tuple[str, str], ssl.SSLContext | bool]:
    project = project or os.environ.get("SIGNALWIRE_PROJECT_ID")
    token = token or os.environ.get("SIGNALWIRE_API_TOKEN")
    host = host or os.environ.get("SIGNALWIRE_SPACE")
    missing = [
        name
        for name, value in (
            ("project (SIGNALWIRE_PROJECT_ID)", project),
            ("token (SIGNALWIRE_API_TOKEN)", token),
            ("host (SIGNALWIRE_SPACE)", host),
        )
        if not value
    ]
    if missing or project is None or token is None or host is None:
        raise ValueError(f"RestClient needs {', '.join(missing)}")
    ca_file = os.environ.get(CA_FILE_ENV)
    verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_file) if ca_file else True
    return base_url(host), (project, token), verify


def _headers() -> dict[str, str]:
    return {
        "Accept": "application/json",
        "Content-Type": "application/json",
        "User-Agent": f"voxrelay-python/{__version__}",
    }


def _options(request_options: Mapping[str, Any] | None) -> dict[str, Any]:
    options = dict(request_options or {})
    unknown = set(options) - {"timeout", "headers"}
    if unknown:
        raise TypeError(f"unknown request_options: {', '.join(sorted(unknown))}")
    return options


def _result(resp: httpx.Response) -> JsonDict:
    try:
        body: Any = resp.json() if resp.content else {}
    except ValueError:
        body = resp.text
    if not resp.is_success:
        raise RestError(
            resp.status_code, body, str(resp.request.url), resp.request.method, resp.headers
        )
    return body if isinstance(body, dict) else {"data": body}


class RestClient:
    """The REST calling API, blocking: ``client.calling.play(call_id, play=[...])``.

    Every ``client.calling`` method returns the response dict or raises ``RestError``
    (``RestTransportError`` when there is no answer). Use it as a context manager, or
    ``close()`` it, to release connections.
    """

    def __init__(
        self,
        project: str | None = None,
        token: str | None = None,
        host: str | None = None,
        *,
        request_options: Mapping[str, Any] | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        url, auth, verify = _settings(project, token, host)
        self.base_url = url
        self.project = auth[0]
        self._defaults = _options(request_options)
        self._http = httpx.Client(
            base_url=url,
            auth=auth,
            verify=verify,
            timeout=timeout,
            headers=_headers(),
            transport=transport,
        )
        self.calling: CallingCommands[JsonDict] = CallingCommands(self._post)

    def _post(self, body: JsonDict, request_options: Mapping[str, Any] | None) -> JsonDict:
        options = {**self._defaults, **_options(request_options)}
        try:
            resp = self._http.post(PATH, json=body, **options)
        except httpx.HTTPError as exc:
            raise RestTransportError(str(exc), self.base_url + PATH, "POST") from exc
        return _result(resp)

    def get_call(self, call_id: str) -> JsonDict:
        """``GET /api/calling/calls/{id}``: the call's leg (voxrelay extension)."""
        try:
            resp = self._http.get(f"{PATH}/{call_id}")
        except httpx.HTTPError as exc:
            raise RestTransportError(str(exc), f"{self.base_url}{PATH}/{call_id}", "GET") from exc
        return _result(resp)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RestClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncRestClient:
    """The same API for asyncio: ``await client.calling.play(call_id, play=[...])``."""

    def __init__(
        self,
        project: str | None = None,
        token: str | None = None,
        host: str | None = None,
        *,
        request_options: Mapping[str, Any] | None = None,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        url, auth, verify = _settings(project, token, host)
        self.base_url = url
        self.project = auth[0]
        self._defaults = _options(request_options)
        self._http = httpx.AsyncClient(
            base_url=url,
            auth=auth,
            verify=verify,
            timeout=timeout,
            headers=_headers(),
            transport=transport,
        )
        self.calling: CallingCommands[Awaitable[JsonDict]] = CallingCommands(self._post)

    def _post(
        self, body: JsonDict, request_options: Mapping[str, Any] | None
    ) -> Awaitable[JsonDict]:
        options = {**self._defaults, **_options(request_options)}

        async def send() -> JsonDict:
            try:
                resp = await self._http.post(PATH, json=body, **options)
            except httpx.HTTPError as exc:
                raise RestTransportError(str(exc), self.base_url + PATH, "POST") from exc
            return _result(resp)

        return send()

    async def get_call(self, call_id: str) -> JsonDict:
        try:
            resp = await self._http.get(f"{PATH}/{call_id}")
        except httpx.HTTPError as exc:
            raise RestTransportError(str(exc), f"{self.base_url}{PATH}/{call_id}", "GET") from exc
        return _result(resp)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncRestClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
