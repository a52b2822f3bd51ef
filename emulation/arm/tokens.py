"""Bearer tokens the identity endpoint issued, whom each stands for, and the authentication a request passes first."""

from __future__ import annotations

import secrets
import threading

from .errors import ArmError
from .messages import Request


class Tokens:
    """Bearer tokens the identity endpoint issued, and whom each stands for."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, str] = {}

    def issue(self, principal: str) -> str:
        token = f"emu.{secrets.token_urlsafe(24)}"
        with self._lock:
            self._tokens[token] = principal
        return token

    def principal(self, token: str) -> str | None:
        with self._lock:
            return self._tokens.get(token)

    def authenticate(self, req: Request) -> str:
        """The principal a request's bearer token stands for, or 401 as ARM answers it."""
        auth = req.headers.get("authorization", "")
        if not auth:
            raise _unauthenticated("The 'Authorization' header is missing.")
        scheme, _, token = auth.partition(" ")
        principal = self.principal(token.strip()) if scheme.lower() == "bearer" else None
        if principal is None:
            raise _unauthenticated("The access token is invalid.")
        return principal


def _unauthenticated(why: str) -> ArmError:
    return ArmError(
        401,
        "AuthenticationFailed",
        f"Authentication failed. {why}",
        {"WWW-Authenticate": 'Bearer authorization_uri="https://login.microsoftonline.com/common", error="invalid_token", '
                             f'error_description="{why}"'},
    )
