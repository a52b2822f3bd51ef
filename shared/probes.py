"""Probes NVAs over TCP, HTTP and HTTPS, all in parallel, each bounded by the cluster's probe timeout."""

from __future__ import annotations

import socket
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Literal, Protocol

import requests
import urllib3

from .config import Nva, Probe, Role
from .headers import Secrets

BODY_LIMIT = 65536  # bytes of an answer a body check reads


@dataclass(frozen=True)
class RoleAnswer:
    """An appliance's answer to "are you the active member of your HA cluster?" (shared.roles asks), and what it was."""

    role: Literal["active", "standby", "unknown"]  # unknown: no answer
    detail: str = ""


@dataclass(frozen=True)
class ProbeResult:
    """One probe's outcome: good or not, why not, and how long it took."""

    ok: bool
    error: str | None = None
    latency_ms: float = 0.0
    role: RoleAnswer | None = None  # the appliance's own answer, when it has a role probe (shared.roles)


class Prober(Protocol):
    def probe_all(self, nvas: Sequence[Nva], timeout: float) -> dict[str, ProbeResult]:
        """Probe every NVA at once; every NVA gets a result within about `timeout` seconds."""


def _url(probe: Probe | Role) -> str:
    host = f"[{probe.address}]" if ":" in probe.address else probe.address
    return f"{probe.protocol}://{host}:{probe.port}{probe.path}"


class NetworkProber:
    """Real probes: a TCP connect, or an HTTP(S) GET (certificates not verified: NVAs present self-signed ones).

    A probe run makes up to `attempts` tries within the probe timeout and is good if any try is: one dropped
    packet must not count as a failure (with 5% of probes lost at random, two failed runs in a row would
    otherwise happen ~40 times a day at a 5 s schedule; with three tries, about once in 10,000 days).
    """

    def __init__(self, max_workers: int = 32, attempts: int = 3, secrets: Secrets | None = None) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="probe")
        self._session = requests.Session()
        self._session.trust_env = False  # an NVA probe never goes through a proxy
        self.attempts = attempts
        self.secrets = secrets or Secrets()
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

    def probe_one(self, probe: Probe, timeout: float) -> ProbeResult:
        started = time.monotonic()
        deadline = started + timeout
        result = ProbeResult(False, "not probed")
        for _ in range(self.attempts):
            left = deadline - time.monotonic()
            if left <= 0.01:
                break
            result = self._try(probe, min(left, timeout / self.attempts), started)
            if result.ok:
                return result
        return result

    def _try(self, probe: Probe, timeout: float, started: float) -> ProbeResult:
        try:
            if probe.protocol == "tcp":
                with socket.create_connection((probe.address, probe.port), timeout=timeout):
                    pass
            else:
                status, body = http_get(self._session, probe, self.secrets, timeout, probe.expect_body is not None)
                if not probe.accepts(status):
                    return ProbeResult(False, f"HTTP {status}", _ms(started))
                if probe.expect_body is not None and probe.expect_body not in body:
                    return ProbeResult(False, f"HTTP {status} without the expected body text", _ms(started))
        except (TimeoutError, requests.Timeout):
            return ProbeResult(False, f"timed out after {timeout:g}s", _ms(started))
        except (OSError, requests.RequestException) as err:
            return ProbeResult(False, _reason(err), _ms(started))
        return ProbeResult(True, None, _ms(started))

    def probe_all(self, nvas: Sequence[Nva], timeout: float) -> dict[str, ProbeResult]:
        futures = {nva.name: self._pool.submit(self.probe_one, nva.probe, timeout) for nva in nvas}
        deadline = time.monotonic() + timeout + 1.0
        results: dict[str, ProbeResult] = {}
        for name, future in futures.items():
            try:
                results[name] = future.result(max(0.0, deadline - time.monotonic()))
            except FutureTimeout:
                results[name] = ProbeResult(False, f"timed out after {timeout:g}s", timeout * 1000)
        return results


def http_get(session: requests.Session, endpoint: Probe | Role, secrets: Secrets, timeout: float,
             read_body: bool) -> tuple[int, str]:
    """One GET of a probe's or role's URL with its headers; the status and (when asked) up to BODY_LIMIT bytes of body."""
    headers = {"User-Agent": "nva-failover-probe", **secrets.headers(endpoint.headers)}
    with session.get(_url(endpoint), timeout=(timeout, timeout), verify=False, allow_redirects=False, headers=headers,
                     stream=True) as resp:
        body = resp.raw.read(BODY_LIMIT, decode_content=True).decode(resp.encoding or "utf-8", "replace") if read_body else ""
        return resp.status_code, body


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


def _reason(err: BaseException) -> str:
    text = str(err)
    if "Connection refused" in text or isinstance(err, ConnectionRefusedError):
        return "connection refused"
    return text.splitlines()[0][:200] if text else type(err).__name__
