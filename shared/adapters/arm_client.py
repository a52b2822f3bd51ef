"""Resource Manager's client for the network adapter: one session, Resource Manager's budget, retries, errors translated."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import requests
from azure.core.credentials import TokenCredential
from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError
from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.transport import RequestsTransport
from azure.mgmt.network import NetworkManagementClient
from requests.adapters import HTTPAdapter

from shared.adapters import network_moves
from shared.adapters.moves import MovePaths
from shared.adapters.pacer import Pacer, kind_of, subscription_of
from shared.adapters.permissions import PermissionCache
from shared.adapters.polling import Retry as _Retry
from shared.errors import PermanentError, TransientError

T = TypeVar("T")
_log = logging.getLogger("nva_failover.network")

Fence = Callable[[str], None]  # called before each write and after it completes; raises StateConflict to stop


@dataclass(frozen=True)
class NetworkTuning:
    """How the engine paces Resource Manager: poll interval, per-write deadline, parallel writes, retry waits."""

    poll_interval: float = 1.0
    write_deadline: float = 180.0
    read_deadline: float = 60.0
    max_parallel: int = 48  # route table writes in flight: ARM refills 10 writes/s, a write takes ~4 s
    max_parallel_reads: int = 32
    max_retry_after: float = 30.0
    connect_timeout: float = 10.0
    read_timeout: float = 30.0  # a hung request is abandoned (and re-read, re-planned) well inside the write deadline


def translate(err: Exception, what: str) -> Exception:
    """A vendor error as ours: _Retry (with its wait) for what passes, PermanentError for what does not."""
    if isinstance(err, ServiceRequestError | ServiceResponseError):
        return _Retry(f"{what}: connection failed: {str(err).splitlines()[0][:200]}", 1.0)
    if isinstance(err, HttpResponseError):
        code = getattr(err.error, "code", None) or ""
        status = err.status_code or 0
        after = 0.0
        if err.response is not None:
            try:
                after = float(getattr(err.response, "headers", {}).get("Retry-After") or 0)
            except ValueError:
                after = 1.0
        message = f"{what}: {status} {code}: {(getattr(err.error, 'message', None) or err.message or '')[:300]}"
        if code in REFUSALS:
            return PermanentError(message)  # a lock or a policy: retrying will not help, a person must act
        if status == 412:
            return _Retry(message, 0.0)
        if status in {408, 409, 429} or status >= 500:
            return _Retry(message, after or 1.0)
        if status == 400 and code in {"PublicIPAddressInUse", "PrivateIPAddressIsAllocated", "PrivateIPAddressInUse",
                                      "AnotherOperationInProgress", "RetryableError"}:
            return _Retry(message, after or 0.5)
        if status in {200, 201, 202}:
            return _Retry(message, 1.0)  # a long-running operation that ended Failed
        return PermanentError(message)
    return err


REFUSALS = {"ScopeLocked", "RequestDisallowedByPolicy"}  # 409 for a lock; 403 for a policy's deny effect


def _parts(resource_id: str) -> tuple[str, str, str]:
    p = resource_id.split("/")
    return p[2], p[4], p[8]


class ArmClient:
    """The clients of every subscription, on one connection pool, paced within the budget, with retries."""

    def __init__(self, credential: TokenCredential, endpoint: str, tuning: NetworkTuning | None = None,
                 pacer: Pacer | None = None, denied: Callable[[], None] | None = None,
                 permissions: PermissionCache | None = None) -> None:
        self._credential = credential
        # Which way floating IPs move (shared.adapters.moves): the feature's registration is read once per subscription a while.
        full = cast(network_moves.AzureNetwork, self)  # only the whole adapter (azure_network.AzureNetwork) is ever built
        self.paths = MovePaths(lambda sub: network_moves.feature_state(full, sub), permissions.evaluate if permissions else None)
        self._denied = denied  # told of every write Azure refuses with 403 (AuthorizationFailed, LinkedAuthorizationFailed)
        self.pacer = pacer or Pacer()
        self._held = threading.local()  # .write: seconds this thread's write waited for budget (extends its deadline)
        self._endpoint = endpoint.rstrip("/")
        self.tuning = tuning or NetworkTuning()
        self._clients: dict[str, NetworkManagementClient] = {}
        self._lock = threading.Lock()
        # Separate pools: an attach never waits behind hundreds of route table writes, a write never behind reads.
        self._pool = ThreadPoolExecutor(max_workers=self.tuning.max_parallel_reads, thread_name_prefix="arm-read")
        self._nic_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="arm-nic")
        self._table_pool = ThreadPoolExecutor(max_workers=self.tuning.max_parallel, thread_name_prefix="arm-table")
        self._list_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="arm-list")
        # One connection pool for every subscription's client, as large as the writes and reads in flight.
        self._session = requests.Session()
        size = self.tuning.max_parallel + self.tuning.max_parallel_reads + 16
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=size)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)

    def client(self, subscription: str) -> NetworkManagementClient:
        with self._lock:
            key = subscription.lower()
            if key not in self._clients:
                # retry_total 2: the poller's status GETs ride out a 429 after its Retry-After; writes are retried
                # (re-read, re-planned, If-Match) by _write below.
                self._clients[key] = NetworkManagementClient(
                    self._credential, subscription, base_url=self._endpoint, retry_total=2,
                    credential_scopes=["https://management.azure.com/.default"],
                    transport=RequestsTransport(session=self._session, session_owner=False,
                                                connection_timeout=self.tuning.connect_timeout,
                                                read_timeout=self.tuning.read_timeout),
                    raw_request_hook=self._before, raw_response_hook=self._after,
                )
            return self._clients[key]

    def _before(self, request: PipelineRequest[Any]) -> None:
        """Each attempt waits for room in the budget (polls included), instead of finding the limit by 429."""
        sub = subscription_of(request.http_request.url)
        if sub:
            waited = self.pacer.acquire(sub, kind_of(request.http_request.method))
            if (held := getattr(self._held, "write", None)) is not None:
                held[0] += waited

    def _after(self, response: PipelineResponse[Any, Any]) -> None:
        sub = subscription_of(response.http_request.url)
        if sub:
            kind = kind_of(response.http_request.method)
            headers = response.http_response.headers
            self.pacer.observe(sub, kind, headers.get(f"x-ms-ratelimit-remaining-subscription-{kind}"),
                               headers.get("Retry-After"), response.http_response.status_code)
        if response.http_response.status_code == 403 and response.http_request.method != "GET" and self._denied:
            self._denied()  # a grant revoked since the permissions were read: the next gate must not trust them

    # ----------------------------------------------------------------- retries
    def _backoff(self, raw: Exception, what: str, attempt: int, deadline: float) -> float:
        """How long to wait before the next attempt; raises (translated) when it must not be retried or time is up."""
        err = translate(raw, what)
        if not isinstance(err, _Retry):
            raise err from raw
        wait = min(max(err.after, 0.2 * attempt), self.tuning.max_retry_after)
        if time.monotonic() + wait > deadline:
            raise TransientError(f"{err} (gave up after {attempt} attempts)") from raw
        return wait

    def _retrying(self, what: str, call: Callable[[], T], deadline: float) -> T:
        attempt = 0
        while True:
            attempt += 1
            try:
                return call()
            except Exception as raw:
                wait = self._backoff(raw, what, attempt, deadline)
                _log.info("retrying %s in %.1fs: %s", what, wait, raw)
                time.sleep(wait)

