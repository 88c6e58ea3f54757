"""Registering with a registrar, the client side of RFC 3261 §10.2.

``Registration`` binds our Contact to an address of record: ``await start()`` sends REGISTER
(answering the digest challenge), then refreshes the binding at half its granted lifetime;
``await stop()`` removes it (``Expires: 0``). One Call-ID for every REGISTER of a
registration, CSeq counting up (§10.2.4)::

    reg = Registration(ua, "sip:+15550109999@127.0.0.1:5060", ("127.0.0.1", 5060),
                       credentials=("my-project", "PTsecret"))
    await reg.start()      # raises RegistrationError (with .status) when refused
    ...
    await reg.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets

from voxrelay.sip.dialog import new_tag
from voxrelay.sip.message import NameAddr, Response, SipParseError
from voxrelay.sip.useragent import UserAgent

log = logging.getLogger(__name__)


class RegistrationError(Exception):
    """The registrar refused the REGISTER (``status``: the SIP final status, 408 timeout)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"REGISTER refused: {status} {reason}")
        self.status = status
        self.reason = reason


class Registration:
    """See module docstring. ``registrar`` is (host, port); ``expires`` seconds asked for."""

    def __init__(
        self,
        ua: UserAgent,
        aor: str,
        registrar: tuple[str, int],
        *,
        credentials: tuple[str, str] | None = None,
        expires: int = 300,
        transport: str = "UDP",
    ) -> None:
        self.ua, self.aor = ua, aor
        self.host, self.port = registrar
        self.credentials = credentials
        self.expires = expires
        self.transport = transport
        self.granted = 0  # seconds the registrar granted last time
        self._call_id = f"{secrets.token_hex(12)}@{ua.endpoint.advertise}"
        self._tag = new_tag()
        self._cseq = 0
        self._refresh: asyncio.Task[None] | None = None

    async def start(self) -> int:
        """Register; returns the granted lifetime (s). Raises RegistrationError or OSError."""
        self.granted = await self._register(self.expires)
        self._refresh = asyncio.get_running_loop().create_task(self._keep())
        return self.granted

    async def stop(self) -> None:
        """Unregister (``Expires: 0``); a failure is logged, not raised."""
        if self._refresh is not None:
            self._refresh.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresh
            self._refresh = None
        try:
            await self._register(0)
        except (RegistrationError, OSError) as exc:
            log.info("unregistering %s: %s", self.aor, exc)

    async def _keep(self) -> None:
        delay = self.granted / 2
        while True:
            await asyncio.sleep(max(delay, 1.0))
            try:
                self.granted = await self._register(self.expires)
                delay = self.granted / 2
            except (RegistrationError, OSError) as exc:
                log.warning("refreshing the registration of %s: %s", self.aor, exc)
                delay = 5.0

    async def _register(self, expires: int) -> int:
        self._cseq += 2  # one more for the authenticated retry
        suffix = "" if self.transport == "UDP" else f";transport={self.transport.lower()}"
        contact = self.ua.endpoint.contact(_user_of(self.aor), self.transport)
        response = await self.ua.request(
            "REGISTER",
            f"sip:{self.host}:{self.port}{suffix}",
            [
                ("From", f"<{self.aor}>;tag={self._tag}"),
                ("To", f"<{self.aor}>"),
                ("Call-ID", self._call_id),
                ("CSeq", f"{self._cseq} REGISTER"),
                ("Contact", contact),
                ("Expires", str(expires)),
            ],
            host=self.host,
            port=self.port,
            transport=self.transport,
            credentials=self.credentials,
        )
        if not 200 <= response.status < 300:
            raise RegistrationError(response.status, response.reason)
        return _granted(response, contact, expires) if expires else 0


def _granted(response: Response, contact: str, asked: int) -> int:
    """The lifetime the registrar gave our contact (its Contact's expires, else Expires)."""
    ours = NameAddr.parse(contact).uri
    for value in response.headers.get_all("Contact"):
        with contextlib.suppress(SipParseError, ValueError):
            addr = NameAddr.parse(value)
            if addr.uri == ours and "expires" in addr.params:
                return int(addr.params["expires"])
    expires = response.headers.get("Expires")
    return int(expires) if expires and expires.strip().isdigit() else asked


def _user_of(uri: str) -> str:
    rest = uri.partition(":")[2]
    return rest.split("@", 1)[0] if "@" in rest else "voxrelay"
