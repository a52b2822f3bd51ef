"""Probes NVAs over TCP, HTTP and HTTPS, all in parallel, each bounded by the cluster's probe timeout, clusters apart."""

from __future__ import annotations

import socket
import time
from collections.abc import Sequence
from functools import partial

import requests
import urllib3

from shared.adapters.headers import Secrets
from shared.adapters.probe_pools import BoundedResolver, ClusterPools, Lookup, getaddrinfo_lookup
from shared.domain.config import Nva, Probe, Role
from shared.domain.observations import ProbeResult

BODY_LIMIT = 65536  # bytes of an answer a body check reads


def _url(probe: Probe | Role, address: str) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"{probe.protocol}://{host}:{probe.port}{probe.path}"


class NetworkProber:
    """Real probes: a TCP connect, or an HTTP(S) GET (certificates not verified: NVAs present self-signed ones).

    A probe run makes up to `attempts` tries within the probe timeout and is good if any try is: one dropped
    packet must not count as a failure (with 5% of probes lost at random, two failed runs in a row would
    otherwise happen ~40 times a day at a 5 s schedule; with three tries, about once in 10,000 days).
    """

    def __init__(self, attempts: int = 3, lookup: Lookup = getaddrinfo_lookup, secrets: Secrets | None = None) -> None:
        self.pools = ClusterPools()
        self.resolver = BoundedResolver(lookup)  # `lookup`: the resolver at this adapter's boundary
        self._session = requests.Session()
        self._session.trust_env = False  # an NVA probe never goes through a proxy
        self.attempts = attempts
        self.secrets = secrets or Secrets()
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

    def probe_one(self, probe: Probe, timeout: float, deadline: float | None = None) -> ProbeResult:
        """One probe run: its tries within `timeout` seconds and never past `deadline` (time.monotonic()), name
        resolution included."""
        started = time.monotonic()
        deadline = started + timeout if deadline is None else min(started + timeout, deadline)
        try:
            address = self.resolver.resolve(probe.address, probe.port, deadline - started)
        except OSError as err:  # a timeout included: the lookup goes on in its own thread, this probe does not wait
            return ProbeResult(False, str(err), _ms(started))
        result = ProbeResult(False, "not probed")
        for _ in range(self.attempts):
            left = deadline - time.monotonic()
            if left <= 0.01:
                break
            result = self._try(probe, address, min(left, timeout / self.attempts), started)
            if result.ok:
                return result
        return result

    def _try(self, probe: Probe, address: str, timeout: float, started: float) -> ProbeResult:
        """One try at the resolved address: a TCP connect, or an HTTP(S) GET whose connect and answer share the time."""
        try:
            if probe.protocol == "tcp":
                with socket.create_connection((address, probe.port), timeout=timeout):
                    pass
            else:
                status, body = http_get(self._session, probe, self.secrets, timeout, probe.expect_body is not None, address)
                if not probe.accepts(status):
                    return ProbeResult(False, f"HTTP {status}", _ms(started))
                if probe.expect_body is not None and probe.expect_body not in body:
                    return ProbeResult(False, f"HTTP {status} without the expected body text", _ms(started))
        except (TimeoutError, requests.Timeout):
            return ProbeResult(False, f"timed out after {timeout:g}s", _ms(started))
        except (OSError, requests.RequestException) as err:
            return ProbeResult(False, _reason(err), _ms(started))
        return ProbeResult(True, None, _ms(started))

    def probe_all(self, nvas: Sequence[Nva], timeout: float, cluster: str = "") -> dict[str, ProbeResult]:
        deadline = time.monotonic() + timeout
        calls = {nva.name: partial(self.probe_one, nva.probe, timeout, deadline) for nva in nvas}
        return self.pools.gather(cluster, calls, deadline + 0.25,
                                 lambda _: ProbeResult(False, f"timed out after {timeout:g}s", timeout * 1000))


def _host(probe: Probe | Role, address: str) -> dict[str, str]:
    """The Host header of a probe sent to the address its host name resolved to."""
    if address == probe.address:
        return {}
    default = {"http": 80, "https": 443}[probe.protocol]
    return {"Host": probe.address if probe.port == default else f"{probe.address}:{probe.port}"}


def http_get(session: requests.Session, endpoint: Probe | Role, secrets: Secrets, timeout: float,
             read_body: bool, address: str | None = None) -> tuple[int, str]:
    """One GET of a probe's or role's URL with its headers, sent to `address` (its host name resolved) when given; the
    status and (when asked) up to BODY_LIMIT bytes of body. Connect and answer share `timeout`."""
    to = endpoint.address if address is None else address
    headers = {"User-Agent": "nva-failover-probe", **_host(endpoint, to), **secrets.headers(endpoint.headers)}
    total = urllib3.Timeout(total=timeout)  # requests passes a urllib3 Timeout through as it is
    with session.get(_url(endpoint, to), timeout=total, verify=False, allow_redirects=False,  # type: ignore[arg-type]
                     headers=headers, stream=True) as resp:
        body = resp.raw.read(BODY_LIMIT, decode_content=True).decode(resp.encoding or "utf-8", "replace") if read_body else ""
        return resp.status_code, body


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


def _reason(err: BaseException) -> str:
    text = str(err)
    if "Connection refused" in text or isinstance(err, ConnectionRefusedError):
        return "connection refused"
    return text.splitlines()[0][:200] if text else type(err).__name__
