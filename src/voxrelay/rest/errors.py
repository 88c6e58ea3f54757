"""Errors of the REST client: the server said no (``RestError``), or could not be reached
(``RestTransportError``). The ``SignalWire*`` names are aliases for code written against the
SignalWire SDK."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

REQUEST_ID_HEADERS = ("x-request-id", "x-signalwire-request-id", "request-id")


class RestError(Exception):
    """A non-2xx answer. ``body`` is the decoded JSON (or the text when it is not JSON);
    voxrelay answers ``{"errors": [{type, code, message, attribute, url}]}``."""

    def __init__(
        self,
        status_code: int,
        body: Any,
        url: str,
        method: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status_code = status_code
        self.body = body
        self.url = url
        self.method = method
        self.headers = dict(headers or {})
        super().__init__(f"{method} {url} failed with HTTP {status_code}: {self.message}")

    @property
    def errors(self) -> list[dict[str, Any]]:
        errors = self.body.get("errors") if isinstance(self.body, dict) else None
        return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []

    @property
    def message(self) -> str:
        """The first error's message (or the body as text)."""
        if self.errors:
            return str(self.errors[0].get("message", ""))
        return str(self.body)

    @property
    def attribute(self) -> str | None:
        """The field at fault, when the server named one."""
        return self.errors[0].get("attribute") if self.errors else None

    @property
    def request_id(self) -> str | None:
        lowered = {k.lower(): v for k, v in self.headers.items()}
        return next((lowered[h] for h in REQUEST_ID_HEADERS if h in lowered), None)


class RestTransportError(Exception):
    """The request did not get an answer (connection refused, TLS failure, timeout...)."""

    def __init__(self, message: str, url: str, method: str) -> None:
        super().__init__(f"{method} {url}: {message}")
        self.url = url
        self.method = method


SignalWireRestError = RestError
SignalWireRestTransportError = RestTransportError
