"""A registrar (RFC 3261 §10) with digest authentication (MD5 and SHA-256, RFC 7616).

Softphones REGISTER their Contact for a user of the config file; the binding remembers where
the REGISTER came from (transport, address), so calls reach phones behind NAT. ``Expires: 0``
or ``Contact: *`` removes bindings. A binding belongs to an address of record ``(owner,
user)``: ``aor_of(username, to_user)`` says which one an authenticated username may register
its To user under (default: only its own name, owner ``""``); the server lets a project
register any number under its own id, so its numbers stay apart from other projects'.
Wrong or missing credentials get 401 with fresh challenges (``stale=true`` for an expired
nonce); unknown users get 403 after a failed challenge like any wrong password, so user
names cannot be probed.

Challenges: SHA-256 then MD5 by default (RFC 8760 order of preference). Some phones give up
when any challenge has an algorithm they lack instead of using the one they know: baresip up to
at least 1.0 (libre 1.1: "Register: Function not implemented" after the 401, no retry). For
them, offer only MD5 (``[sip] digest_algorithms = ["MD5"]``).
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from voxrelay.sip.dialog import new_tag
from voxrelay.sip.digest import PREFERENCE, DigestAuth, DigestError
from voxrelay.sip.endpoint import Peer
from voxrelay.sip.message import NameAddr, Request, Response, SipParseError, response_to
from voxrelay.sip.transaction import ServerTransaction

DEFAULT_EXPIRES = 3600
MIN_EXPIRES = 60
MAX_EXPIRES = 86400
Aor = tuple[str, str]  # (owner, user): owner "" for users of the config file


def own_name(username: str, to_user: str) -> Aor | None:
    """The default rule: a user registers only its own name."""
    return ("", username) if to_user == username else None


@dataclass
class Binding:
    user: str  # who registered it (the digest username)
    contact: str  # the Contact URI
    peer: Peer  # where the REGISTER came from
    expires_at: float  # monotonic seconds


class Registrar:
    """Bindings for the users ``passwords`` knows (a mapping or a lookup: user -> password)."""

    def __init__(
        self,
        realm: str,
        passwords: Mapping[str, str] | Callable[[str], str | None],
        algorithms: Sequence[str] = PREFERENCE,
        aor_of: Callable[[str, str], Aor | None] = own_name,
    ) -> None:
        """``algorithms``: the challenges offered, in order (one WWW-Authenticate each).
        ``aor_of(username, to_user)``: where an authenticated REGISTER binds, None for 403."""
        self.password_of = passwords.get if isinstance(passwords, Mapping) else passwords
        self.aor_of = aor_of
        self.auth = DigestAuth(realm, secrets.token_bytes(32), algorithms=tuple(algorithms))
        self.bindings: dict[Aor, list[Binding]] = {}

    def lookup(self, user: str, owner: str = "") -> list[Binding]:
        """The live bindings of ``user`` (of ``owner``; expired ones dropped)."""
        aor = (owner, user)
        now = time.monotonic()
        live = [b for b in self.bindings.get(aor, []) if b.expires_at > now]
        if live:
            self.bindings[aor] = live
        else:
            self.bindings.pop(aor, None)
        return live

    def handle(self, tx: ServerTransaction, request: Request, peer: Peer) -> None:
        """Answer one REGISTER."""
        try:
            user = self._authenticate(request)
        except DigestError as exc:
            self._challenge(tx, request, exc.stale)
            return
        except SipParseError as exc:
            tx.respond(_reply(request, exc.status, exc.reason))
            return
        if user is None:
            self._challenge(tx, request, False)
            return
        aor = self.aor_of(user, _user_of(request.header("To")))
        if aor is None:
            tx.respond(_reply(request, 403, "Username may not register the To user"))
            return
        try:
            contacts = self._update(aor, user, request, peer)
        except SipParseError as exc:
            tx.respond(_reply(request, exc.status, exc.reason, extra=exc_extra(exc)))
            return
        now = time.monotonic()
        extra = [
            ("Contact", f"<{b.contact}>;expires={math.ceil(b.expires_at - now)}") for b in contacts
        ]
        extra.append(("Date", time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())))
        tx.respond(_reply(request, 200, extra=extra))

    def _authenticate(self, request: Request) -> str | None:
        header = request.headers.get("Authorization")
        if header is None:
            return None
        return self.auth.verify(header, "REGISTER", self.password_of, uri=None)

    def _challenge(self, tx: ServerTransaction, request: Request, stale: bool) -> None:
        extra = [("WWW-Authenticate", value) for value in self.auth.challenge_headers(stale)]
        tx.respond(_reply(request, 401, extra=extra))

    def _update(self, aor: Aor, user: str, request: Request, peer: Peer) -> list[Binding]:
        default = request.headers.get("Expires")
        contacts = request.headers.get_all("Contact")
        if contacts == ["*"]:
            if default is None or default.strip() != "0":
                raise SipParseError("Contact: * needs Expires: 0")
            self.bindings.pop(aor, None)
            return []
        current = {b.contact: b for b in self.lookup(aor[1], aor[0])}
        for value in contacts:
            addr = NameAddr.parse(value)
            expires = _expires(addr.params.get("expires", default))
            if 0 < expires < MIN_EXPIRES:
                raise SipParseError("Interval Too Brief", 423)
            if expires == 0:
                current.pop(addr.uri, None)
            else:
                current[addr.uri] = Binding(
                    user, addr.uri, peer, time.monotonic() + min(expires, MAX_EXPIRES)
                )
        self.bindings[aor] = list(current.values())
        return self.lookup(aor[1], aor[0])


def _reply(
    request: Request,
    status: int,
    reason: str | None = None,
    extra: list[tuple[str, str]] | None = None,
) -> Response:
    """A response with a To tag, as every final response needs (RFC 3261 §8.2.6.2)."""
    return response_to(request, status, reason, to_tag=new_tag(), extra=extra)


def exc_extra(exc: SipParseError) -> list[tuple[str, str]]:
    return [("Min-Expires", str(MIN_EXPIRES))] if exc.status == 423 else []


def _expires(value: str | None) -> int:
    if value is None or value == "":
        return DEFAULT_EXPIRES
    if not value.strip().isdigit():
        raise SipParseError("malformed expires")
    return int(value.strip())


def _user_of(header: str) -> str:
    uri = NameAddr.parse(header).uri
    rest = uri.partition(":")[2]
    return rest.split("@", 1)[0] if "@" in rest else ""
