"""The REGISTER client (RFC 3261 §10.2) against our registrar over real UDP sockets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

from voxrelay.sip import registrar as registrar_module
from voxrelay.sip.message import Request
from voxrelay.sip.registrar import Registrar
from voxrelay.sip.registration import Registration, RegistrationError
from voxrelay.sip.transaction import ServerTransaction
from voxrelay.sip.useragent import UserAgent

Handler = Callable[[ServerTransaction, Request, object], None]


@asynccontextmanager
async def registrar_and_phone(
    handle: Handler, password: str, expires: int = 300
) -> AsyncIterator[Registration]:
    """A UA answering REGISTER with ``handle``, and alice's Registration against it."""
    server, client = UserAgent("127.0.0.1", 0), UserAgent("127.0.0.1", 0)
    server.on_register = handle  # type: ignore[assignment]
    await server.start()
    await client.start()
    try:
        yield Registration(
            client,
            "sip:alice@127.0.0.1",
            ("127.0.0.1", server.endpoint.port),
            credentials=("alice", password),
            expires=expires,
        )
    finally:
        await client.stop()
        await server.stop()


async def test_a_binding_is_refreshed_before_it_expires_then_removed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(registrar_module, "MIN_EXPIRES", 1)  # a 2 s lifetime, for a short test
    registrar = Registrar("test", {"alice": "secret"})
    seen: list[Request] = []

    def handle(tx: ServerTransaction, request: Request, peer: object) -> None:
        if "Authorization" in request.headers:
            seen.append(request)
        registrar.handle(tx, request, peer)  # type: ignore[arg-type]

    async with registrar_and_phone(handle, "secret", expires=2) as phone:
        assert await phone.start() == 2
        await asyncio.sleep(3.2)  # past the first lifetime: alive only if refreshed
        assert registrar.lookup("alice"), "the binding expired: no refresh"
        refreshes = [r for r in seen if r.headers.get("Expires") == "2"]
        assert len(refreshes) >= 3  # at 0 s, then every granted/2 = 1 s
        assert len({r.headers.get("Call-ID") for r in refreshes}) == 1  # §10.2.4: same Call-ID
        cseqs = [int((r.headers.get("CSeq") or "0").split()[0]) for r in refreshes]
        assert cseqs == sorted(set(cseqs))  # and a higher CSeq each time
        await phone.stop()
        assert seen[-1].headers.get("Expires") == "0" and not registrar.lookup("alice")


async def test_a_wrong_password_is_refused() -> None:
    registrar = Registrar("test", {"alice": "secret"})
    async with registrar_and_phone(registrar.handle, "guess") as phone:
        with pytest.raises(RegistrationError) as refused:
            await phone.start()
        assert refused.value.status in (401, 403) and not registrar.lookup("alice")
