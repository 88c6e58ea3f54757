"""HTTP Digest authentication for SIP (RFC 3261 §22, RFC 2617, RFC 7616). Sans-I/O.

Server side: ``DigestAuth(realm, secret)`` makes challenges (``challenge_headers()``: one
WWW-Authenticate value per algorithm, SHA-256 first, then MD5 for older phones) and
``verify()``s Authorization headers. Nonces are stateless: a timestamp and random bytes signed
with HMAC-SHA-256 under the server secret, so any process holding the secret can check them and
they expire after ``nonce_ttl`` seconds (an expired but genuine nonce gives a ``stale`` error:
re-challenge with ``stale=True`` and the phone retries without asking its user). Replays of a
nonce within its lifetime are not tracked here.

Client side: ``authorization(challenge, method, uri, username, password)`` answers a
challenge from a trunk (for the Authorization or Proxy-Authorization header);
``with_credentials(request, challenge, credentials, via)`` is the whole retried request.

Time is passed in (``now``, seconds since the epoch) so that tests need no clock; it
defaults to ``time.time()``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from voxrelay.sip.message import Request, Response

HASHES: dict[str, Callable[[bytes], str]] = {
    "MD5": lambda data: hashlib.md5(data).hexdigest(),
    "SHA-256": lambda data: hashlib.sha256(data).hexdigest(),
}
PREFERENCE = ("SHA-256", "MD5")  # strongest first (RFC 7616 §3.7)
MAX_HEADER = 4096
PARAM = re.compile(r'\s*([A-Za-z0-9_.!%*+`\'~-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,"]*)\s*(?:,|$)')


class DigestError(ValueError):
    """Authorization refused. ``stale``: the nonce was ours but expired (re-challenge with
    stale=true). ``username`` is set when the header named one."""

    def __init__(self, reason: str, stale: bool = False, username: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.stale = stale
        self.username = username


def parse_params(value: str) -> tuple[str, dict[str, str]]:
    """``Digest a="x", b=y`` -> ("digest", {"a": "x", "b": "y"}); names lower-cased,
    quoted strings unescaped. Raises DigestError when malformed."""
    if len(value) > MAX_HEADER:
        raise DigestError("authentication header too long")
    scheme, _, rest = value.strip().partition(" ")
    params: dict[str, str] = {}
    pos, rest = 0, rest.strip()
    while pos < len(rest):
        match = PARAM.match(rest, pos)
        if match is None or match.end() == pos:
            raise DigestError(f"malformed authentication parameters near {rest[pos : pos + 20]!r}")
        name, raw = match.group(1).lower(), match.group(2)
        if raw.startswith('"'):
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        if name in params:
            raise DigestError(f"parameter {name} given twice")
        params[name] = raw
        pos = match.end()
    return scheme.lower(), params


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _hash_for(algorithm: str) -> tuple[Callable[[bytes], str], bool]:
    """The hash of an algorithm token (``MD5``, ``SHA-256``, their ``-sess`` forms)."""
    upper = algorithm.upper()
    sess = upper.endswith("-SESS")
    base = upper.removesuffix("-SESS")
    if base not in HASHES:
        raise DigestError(f"unsupported algorithm {algorithm!r}")
    return HASHES[base], sess


def response_value(
    algorithm: str,
    username: str,
    realm: str,
    password: str,
    method: str,
    uri: str,
    nonce: str,
    qop: str | None = None,
    nc: str = "",
    cnonce: str = "",
    body: bytes = b"",
) -> str:
    """The ``response`` parameter (RFC 7616 §3.4.1; RFC 2617 §3.2.2 without qop)."""
    h, sess = _hash_for(algorithm)
    ha1 = h(f"{username}:{realm}:{password}".encode())
    if sess:
        ha1 = h(f"{ha1}:{nonce}:{cnonce}".encode())
    a2 = f"{method}:{uri}:{h(body)}" if qop == "auth-int" else f"{method}:{uri}"
    ha2 = h(a2.encode())
    if qop:
        return h(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}".encode())
    return h(f"{ha1}:{nonce}:{ha2}".encode())


# -- server ------------------------------------------------------------------------------------


@dataclass
class DigestAuth:
    """Challenges and checks for one realm. ``secret`` signs nonces: keep it private and the
    same on every node that must accept the others' nonces."""

    realm: str
    secret: bytes
    nonce_ttl: float = 300.0
    algorithms: Sequence[str] = PREFERENCE
    require_qop: bool = True
    opaque: str | None = None

    def nonce(self, now: float | None = None) -> str:
        """A fresh signed nonce: base64url(timestamp | 8 random bytes | 16-byte HMAC)."""
        stamp = struct.pack(">Q", int((time.time() if now is None else now) * 1000))
        body = stamp + secrets.token_bytes(8)
        return base64.urlsafe_b64encode(body + self._sign(body)).decode().rstrip("=")

    def _sign(self, body: bytes) -> bytes:
        key = self.secret + b"\x00" + self.realm.encode()
        return hmac.new(key, body, hashlib.sha256).digest()[:16]

    def nonce_age(self, nonce: str, now: float | None = None) -> float:
        """Seconds since ``nonce`` was made. Raises DigestError if it is not one of ours."""
        try:
            raw = base64.urlsafe_b64decode(nonce + "=" * (-len(nonce) % 4))
        except (ValueError, TypeError):
            raise DigestError("unknown nonce") from None
        if len(raw) != 32 or not hmac.compare_digest(self._sign(raw[:16]), raw[16:]):
            raise DigestError("unknown nonce")
        millis = int.from_bytes(raw[:8], "big")
        return (time.time() if now is None else now) - millis / 1000

    def challenge_headers(self, stale: bool = False, now: float | None = None) -> list[str]:
        """WWW-Authenticate (or Proxy-Authenticate) values, one per algorithm, same nonce."""
        nonce = self.nonce(now)
        values = []
        for algorithm in self.algorithms:
            _hash_for(algorithm)
            parts = [
                f"realm={_quote(self.realm)}",
                f"nonce={_quote(nonce)}",
                f"algorithm={algorithm}",
                'qop="auth"',
            ]
            if self.opaque is not None:
                parts.append(f"opaque={_quote(self.opaque)}")
            if stale:
                parts.append("stale=true")
            values.append("Digest " + ", ".join(parts))
        return values

    def verify(
        self,
        authorization: str,
        method: str,
        lookup_password: Callable[[str], str | None],
        uri: str | None = None,
        now: float | None = None,
    ) -> str:
        """Check an Authorization (or Proxy-Authorization) value; return the username.

        ``uri`` is the request's Request-URI: when given, the header's ``uri`` must equal it.
        Raises DigestError (``stale`` set for an expired nonce of ours).
        """
        scheme, params = parse_params(authorization)
        if scheme != "digest":
            raise DigestError(f"unsupported scheme {scheme!r}")
        missing = [p for p in ("username", "realm", "nonce", "uri", "response") if p not in params]
        if missing:
            raise DigestError(f"missing {', '.join(missing)}")
        username = params["username"]
        if params["realm"] != self.realm:
            raise DigestError("wrong realm", username=username)
        algorithm = params.get("algorithm", "MD5")
        if algorithm.upper() not in (a.upper() for a in self.algorithms):
            raise DigestError(f"algorithm {algorithm!r} was not offered", username=username)
        if uri is not None and params["uri"] != uri:
            raise DigestError("uri does not match the Request-URI", username=username)
        if self.opaque is not None and params.get("opaque") != self.opaque:
            raise DigestError("wrong opaque", username=username)
        qop = params.get("qop")
        if qop is None:
            if self.require_qop:
                raise DigestError("qop=auth required", username=username)
        elif qop != "auth":
            raise DigestError(f"unsupported qop {qop!r}", username=username)
        elif not re.fullmatch(r"[0-9a-fA-F]{8}", params.get("nc", "")) or not params.get("cnonce"):
            raise DigestError("qop=auth needs nc (8 hex digits) and cnonce", username=username)
        age = self.nonce_age(params["nonce"], now)
        if age > self.nonce_ttl:
            raise DigestError("nonce expired", stale=True, username=username)
        if age < -60:
            raise DigestError("nonce from the future", username=username)
        password = lookup_password(username)
        # Compute even for unknown users so their timing matches a wrong password.
        expected = response_value(
            algorithm,
            username,
            self.realm,
            password if password is not None else secrets.token_hex(16),
            method,
            params["uri"],
            params["nonce"],
            qop,
            params.get("nc", ""),
            params.get("cnonce", ""),
        )
        ok = hmac.compare_digest(expected.encode(), params["response"].lower().encode())
        if not ok or password is None:
            raise DigestError("wrong credentials", username=username)
        return username


# -- client ------------------------------------------------------------------------------------


def choose_challenge(challenges: Sequence[str]) -> str:
    """The Digest challenge with the strongest algorithm we support (SHA-256, then MD5)."""
    best: tuple[int, str] | None = None
    for value in challenges:
        try:
            scheme, params = parse_params(value)
        except DigestError:
            continue
        algorithm = params.get("algorithm", "MD5").upper().removesuffix("-SESS")
        if scheme == "digest" and algorithm in PREFERENCE:
            rank = PREFERENCE.index(algorithm)
            if best is None or rank < best[0]:
                best = (rank, value)
    if best is None:
        raise DigestError("no Digest challenge with a supported algorithm")
    return best[1]


def authorization(
    challenge: str | Sequence[str],
    method: str,
    uri: str,
    username: str,
    password: str,
    nc: int = 1,
    cnonce: str | None = None,
    body: bytes = b"",
) -> str:
    """The Authorization value answering a WWW-/Proxy-Authenticate challenge (or the best of
    several). Uses qop=auth when offered (auth-int when only that is), else RFC 2069 style.
    ``nc`` counts requests sent with this nonce (start at 1)."""
    value = challenge if isinstance(challenge, str) else choose_challenge(challenge)
    scheme, params = parse_params(value)
    if scheme != "digest":
        raise DigestError(f"unsupported scheme {scheme!r}")
    if "realm" not in params or "nonce" not in params:
        raise DigestError("challenge without realm or nonce")
    algorithm = params.get("algorithm", "MD5")
    _hash_for(algorithm)
    offered = [q.strip() for q in params.get("qop", "").split(",") if q.strip()]
    qop = "auth" if "auth" in offered else "auth-int" if "auth-int" in offered else None
    if offered and qop is None:
        raise DigestError(f"unsupported qop {params['qop']!r}")
    cnonce = cnonce if cnonce is not None else secrets.token_hex(8)
    nc_text = f"{nc:08x}"
    response = response_value(
        algorithm, username, params["realm"], password, method, uri, params["nonce"],
        qop, nc_text, cnonce, body,
    )  # fmt: skip
    parts = [
        f"username={_quote(username)}",
        f"realm={_quote(params['realm'])}",
        f"nonce={_quote(params['nonce'])}",
        f"uri={_quote(uri)}",
        f"response={_quote(response)}",
        f"algorithm={algorithm}",
    ]
    if qop:
        parts += [f"qop={qop}", f"nc={nc_text}", f"cnonce={_quote(cnonce)}"]
    if "opaque" in params:
        parts.append(f"opaque={_quote(params['opaque'])}")
    return "Digest " + ", ".join(parts)


def with_credentials(
    request: Request, challenge: Response, credentials: tuple[str, str] | None, via: str
) -> Request | None:
    """``request`` again answering a 401/407 ``challenge`` (RFC 3261 §22.2): Authorization (or
    Proxy-Authorization) for ``credentials`` (username, password), the new top ``via`` (a new
    branch) and CSeq + 1. None without credentials or a Digest challenge we can answer."""
    header = "WWW-Authenticate" if challenge.status == 401 else "Proxy-Authenticate"
    challenges = challenge.headers.get_all(header)
    if credentials is None or not challenges:
        return None
    username, password = credentials
    try:
        value = authorization(challenges, request.method, request.uri, username, password)
    except DigestError:
        return None
    headers = request.headers.copy()
    headers.set("Via", via)
    number, method = request.cseq
    headers.set("CSeq", f"{number + 1} {method}")
    headers.set("Authorization" if challenge.status == 401 else "Proxy-Authorization", value)
    return Request(headers, request.body, request.method, request.uri)
