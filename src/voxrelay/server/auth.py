"""Authentication of `signalwire.connect` and HTTP Basic credentials (ARCHITECTURE.md, Security).

Project/token pairs are compared in constant time. A JWT (HS256, signed with the project's
token, claims ``project`` and optional ``scopes``/``exp``) is accepted in place of the token.
"""

from __future__ import annotations

import base64
import hmac
from dataclasses import dataclass

import jwt

from voxrelay.protocol.models import Authentication
from voxrelay.server.config import Project

DEFAULT_SCOPES = ("calling", "messaging", "tasking")


class AuthError(Exception):
    """Credentials missing or wrong. The message never echoes a secret."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a session or HTTP request acts for."""

    project: str
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    expires_at: float | None = None


class Authenticator:
    """Checks credentials against the configured projects."""

    def __init__(self, projects: list[Project]) -> None:
        self._tokens = {p.id: p.token for p in projects}

    def check_token(self, project: str | None, token: str | None) -> Principal:
        """Project id + API token. Raises AuthError."""
        expected = self._tokens.get(project or "")
        # Compare against something even for an unknown project, so timing says nothing.
        if not hmac.compare_digest((token or "").encode(), (expected or "\0").encode()):
            raise AuthError("401 Unauthorized")
        if expected is None or not project:
            raise AuthError("401 Unauthorized")
        return Principal(project)

    def token_of(self, project: str) -> str | None:
        """The project's API token (SIP digest checks need the secret itself), or None."""
        return self._tokens.get(project)

    def check_jwt(self, token: str) -> Principal:
        """A JWT signed (HS256) with the project's token. Raises AuthError."""
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
            project = str(claims.get("project") or claims.get("sub") or "")
            secret = self._tokens.get(project)
            if secret is None:
                raise AuthError("401 Unauthorized")
            claims = jwt.decode(token, secret, algorithms=["HS256"])
        except jwt.PyJWTError:
            raise AuthError("401 Unauthorized") from None
        scopes = tuple(claims.get("scopes") or DEFAULT_SCOPES)
        exp = claims.get("exp")
        return Principal(project, scopes, float(exp) if exp is not None else None)

    def authenticate(self, auth: Authentication) -> Principal:
        """The ``authentication`` object of ``signalwire.connect`` (reference §1.4)."""
        if auth.jwt_token:
            return self.check_jwt(auth.jwt_token)
        return self.check_token(auth.project, auth.token)

    def basic(self, header: str | None) -> Principal:
        """An HTTP ``Authorization: Basic base64(project:token)`` header."""
        if not header or not header.lower().startswith("basic "):
            raise AuthError("401 Unauthorized")
        try:
            raw = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            raise AuthError("401 Unauthorized") from None
        project, _, token = raw.partition(":")
        return self.check_token(project, token)
