"""Signed operation-status URLs, as Azure issues them since 2023: only a URL used exactly as given is answered.

Azure's Azure-AsyncOperation and Location URLs carry `api-version`, `t` (ticks), `c` (the signing certificate),
`s` (a signature) and `h` (a hash) (Azure SDK for Python route table recording, 2023-12-06, in Azure/azure-sdk-assets),
and the operation id equals the write's x-ms-request-id (Azure/azure-powershell#14460). Azure's answer to a rebuilt
URL is not recorded; the emulator refuses one with 401 so that a client that rebuilds it fails here first.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from urllib.parse import urlencode

from .errors import ArmError

_EPOCH_TICKS = 621355968000000000  # .NET ticks at 1970-01-01


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class OperationLinks:
    """Builds and checks the signed query of operation URLs."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self._cert = _b64(b"emulated-asyncoperationsigningcertificate.management.azure.com:" + secrets.token_bytes(48))

    def _sign(self, leaf: str, op_id: str, api_version: str, ticks: str) -> tuple[str, str]:
        s = _b64(hmac.new(self._key, f"{leaf}|{op_id.lower()}|{api_version}|{ticks}".encode(), hashlib.sha256).digest())
        h = _b64(hashlib.sha256(f"{s}|{self._cert}".encode()).digest())
        return s, h

    def query(self, leaf: str, op_id: str, api_version: str) -> str:
        ticks = str(int(time.time() * 10_000_000) + _EPOCH_TICKS)
        s, h = self._sign(leaf, op_id, api_version, ticks)
        return urlencode({"api-version": api_version, "t": ticks, "c": self._cert, "s": s, "h": h})

    def check(self, leaf: str, op_id: str, query: dict[str, str]) -> None:
        want = self._sign(leaf, op_id, query.get("api-version", ""), query.get("t", ""))
        got = (query.get("s", ""), query.get("h", ""))
        if query.get("c") != self._cert or not all(hmac.compare_digest(a, b) for a, b in zip(want, got, strict=True)):
            raise ArmError(
                401, "InvalidAuthenticationTokenSignature",
                "The operation URL is not the one Azure-AsyncOperation or Location gave: use it exactly as given.",
            )
