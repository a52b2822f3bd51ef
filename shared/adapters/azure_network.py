"""Network actions on Azure with azure-mgmt-network: reads, paced long-running writes, If-Match, errors translated."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import requests
from azure.core.credentials import TokenCredential
from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError
from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.transport import RequestsTransport
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.network.models import NetworkInterface, RouteTable
from requests.adapters import HTTPAdapter

from shared.adapters import network_moves
from shared.adapters.moves import MovePaths
from shared.adapters.pacer import Pacer, kind_of, subscription_of
from shared.adapters.permissions import PermissionCache
from shared.adapters.polling import PacedPolling
from shared.adapters.polling import Retry as _Retry
from shared.adapters.write_order import Run, Skip, apply_in_order
from shared.adapters.write_order import reason as _reason
from shared.domain.config import Cluster
from shared.domain.desired import NOT_FOUND, AzureView, Change, Desired, addresses_unread, desired, holder_nic_ids
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


class AzureNetwork:
    """The one Azure implementation of NetworkActions."""

    def __init__(self, credential: TokenCredential, endpoint: str, tuning: NetworkTuning | None = None,
                 pacer: Pacer | None = None, denied: Callable[[], None] | None = None,
                 permissions: PermissionCache | None = None) -> None:
        self._credential = credential
        # Which way floating IPs move (shared.adapters.moves): the feature's registration is read once per subscription a while.
        self.paths = MovePaths(lambda sub: network_moves.feature_state(self, sub), permissions.evaluate if permissions else None)
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

    # ----------------------------------------------------------------- reads
    def _get(self, resource_id: str, deadline: float) -> dict[str, Any] | None:
        sub, group, name = _parts(resource_id)
        kind = resource_id.split("/")[7].lower()
        ops = self.client(sub)

        def call() -> Any:
            try:
                if kind == "networkinterfaces":
                    return ops.network_interfaces.get(group, name)
                if kind == "publicipaddresses":
                    return ops.public_ip_addresses.get(group, name)
                return ops.route_tables.get(group, name)
            except HttpResponseError as err:
                if err.status_code == 404:
                    return None
                raise

        model = self._retrying(f"read {resource_id}", call, deadline)
        return None if model is None else dict(model.as_dict())

    def _get_each(self, ids: Iterable[str], deadline: float) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
        """Each resource read on its own: the bodies found, and why each other one could not be read (not found,
        refused, failing). One refusal never fails the rest (contract §6 "Partial beats none")."""
        unique = sorted({i.lower(): i for i in ids}.items())
        futures = {key: (rid, self._pool.submit(self._get, rid, deadline)) for key, rid in unique}
        out: dict[str, dict[str, Any]] = {}
        unread: dict[str, str] = {}
        for key, (rid, future) in futures.items():
            try:
                body = future.result()
            except Exception as err:  # the boundary of one read: whatever it raised is its reason
                unread[rid] = f"could not be read: {_reason(err)}"
                continue
            if body is None:
                unread[rid] = NOT_FOUND
            else:
                out[key] = body
        return out, unread

    def _discover(self, subscription: str, deadline: float) -> list[dict[str, Any]]:
        def call() -> list[dict[str, Any]]:
            return [dict(t.as_dict()) for t in self.client(subscription).route_tables.list_all()]

        return self._retrying(f"list route tables of {subscription}", call, deadline)

    def _list_group(self, subscription: str, group: str, deadline: float) -> list[dict[str, Any]]:
        def call() -> list[dict[str, Any]]:
            return [dict(t.as_dict()) for t in self.client(subscription).route_tables.list(group)]

        return self._retrying(f"list route tables of {subscription}/{group}", call, deadline)

    def read(self, cluster: Cluster) -> AzureView:
        """Raises when a NIC or public IP of the cluster cannot be read (no address move can be planned without them);
        route tables and listings that cannot be read are named in the view's `unread` instead."""
        view, _ = self.survey(cluster)
        if blocking := addresses_unread(view):
            raise PermanentError("; ".join(f"{r}: {why}" for r, why in blocking.items()))
        return view

    def survey(self, cluster: Cluster) -> tuple[AzureView, list[str]]:
        """What read() reads, and the configured NICs, public IPs and route tables that Azure does not have. Every
        listing and read stands alone: what cannot be read is in the view's `unread`, with its reason."""
        deadline = time.monotonic() + self.tuning.read_deadline
        discovered = cluster.discover_route_tables.subscriptions if cluster.discover_route_tables else ()
        discovering = {s.lower() for s in discovered}
        listings = {s: self._list_pool.submit(self._discover, s, deadline) for s in discovered}

        def groups_of(subs: set[str]) -> dict[tuple[str, str], Any]:
            wanted = sorted({(t.split("/")[2], t.split("/")[4]) for t in cluster.route_tables if t.split("/")[2].lower() in subs})
            return {g: self._list_pool.submit(self._list_group, g[0], g[1], deadline) for g in wanted}

        # Listed tables: one paged list per resource group (a subscription being discovered is listed whole already).
        group_listings = groups_of({t.split("/")[2].lower() for t in cluster.route_tables} - discovering)
        nic_ids = [nva.nic_id(leg) for nva in cluster.nvas for leg in nva.interfaces]
        pip_ids = [p.id for p in cluster.public_ips] + [f.public_ip for f in cluster.floating_ips if f.public_ip]
        bodies, unread = self._get_each([*nic_ids, *pip_ids], deadline)
        nics = {k: v for k, v in bodies.items() if "/networkinterfaces/" in k}
        pips = {k: v for k, v in bodies.items() if "/publicipaddresses/" in k}
        outside = holder_nic_ids(AzureView(nics, pips, {})) - set(nics)
        if outside:
            nics = {**nics, **self._get_each(outside, deadline)[0]}  # holders outside the cluster: only to be seen
        found: dict[str, dict[str, Any]] = {}
        unlisted_subs = set()
        for sub, future in listings.items():
            try:
                found.update({str(t["id"]).lower(): t for t in future.result()})
            except Exception as err:  # the boundary of one listing
                unlisted_subs.add(sub.lower())
                unread[f"/subscriptions/{sub}"] = (f"route tables could not be listed ({_reason(err)}): beyond the resource "
                                                   "groups of configured tables, none there is managed until it can be")
        group_listings.update(groups_of(unlisted_subs))  # its configured tables are listed by resource group instead
        one_by_one = []
        for (sub, group), future in group_listings.items():
            try:
                found.update({str(t["id"]).lower(): t for t in future.result()})
            except Exception:  # the boundary of one listing: its configured tables are read one by one
                one_by_one += [t for t in cluster.route_tables if (t.split("/")[2].lower(), t.split("/")[4].lower())
                               == (sub.lower(), group.lower())]
        more, refused = self._get_each(one_by_one, deadline)
        found.update(more)
        unread.update(refused)
        listed = {t.lower() for t in cluster.route_tables}
        unread.update({t: NOT_FOUND for t in cluster.route_tables if t.lower() not in found and t not in unread})
        missing = [r for r in [*pip_ids, *cluster.route_tables, *dict.fromkeys(nic_ids)] if unread.get(r) == NOT_FOUND]
        tables = {k: t for k, t in found.items() if k in listed}
        # In scope only (contract §6): beyond the configured tables, only those of a discovered subscription that hold
        # an owned route. A table that shares a resource group with a configured one is not thereby managed.
        candidates = {k: t for k, t in found.items() if k not in listed and k.split("/")[2] in discovering}
        if candidates and all(n.lower() in nics for n in nic_ids):
            owner = desired(cluster, cluster.nvas[0].name, AzureView(nics, pips, tables))
            tables.update({k: t for k, t in candidates.items() if owner.owns_routes(t)})
        return AzureView(nics, pips, tables, unread, network_moves.floating_path(self.paths, cluster, nics)), missing

    # ----------------------------------------------------------------- writes
    def _put(self, change: Change, deadline: Callable[[], float]) -> None:
        sub, group, name = _parts(change.resource)
        ops = self.client(sub)
        headers = {"If-Match": change.etag} if change.etag else {}
        polling = PacedPolling(self.tuning.poll_interval, deadline, f"write {change.resource}", self.pacer.polls, change.kind)
        if change.kind == "nic":
            ops.network_interfaces.begin_create_or_update(
                group, name, NetworkInterface(change.body), headers=headers, polling=polling).result()
        else:
            ops.route_tables.begin_create_or_update(group, name, RouteTable(change.body), headers=headers, polling=polling).result()

    def _write(self, change: Change, want: Desired, fence: Fence) -> Change | None:
        """Write one resource until it holds what it should; re-read and re-plan after a conflict or a lost answer."""
        # The deadline bounds Azure, not our own pacing: time held for budget (a full 5-minute window) extends it.
        held = self._held.write = [0.0]  # this thread's PUTs add their wait (status polls run in the SDK's thread)
        start = time.monotonic()

        def deadline() -> float:
            return start + self.tuning.write_deadline + held[0]

        current: Change | None = change
        attempt = 0
        while current is not None:
            attempt += 1
            fence(f"write {current.resource}")
            started = time.monotonic()
            _log.info("write started: %s %s", current.action, current.resource)
            try:
                self._put(current, deadline)
                _log.info("write completed: %s %s in %.1fs", current.action, current.resource, time.monotonic() - started)
                # Written again after it ended Failed with its body kept: still the change that was meant.
                return replace(change, body=current.body, etag=current.etag) if current.action == "rewriteFailed" else current
            except Exception as raw:
                wait = self._backoff(raw, f"{current.action} {current.resource}", attempt, deadline())
                _log.info("write %s failed, re-reading in %.1fs: %s", current.resource, wait, raw)
                time.sleep(wait)
            body = self._get(current.resource, deadline())
            if body is None:
                raise PermanentError(f"{current.resource} disappeared during the failover")
            while (body.get("properties") or {}).get("provisioningState") in {"Updating", "Creating"}:
                if time.monotonic() > deadline():
                    raise TransientError(f"{current.resource} still Updating at the deadline")
                time.sleep(self.tuning.poll_interval)
                body = self._get(current.resource, deadline()) or body
            replanned = want.nic_change(body) if current.kind == "nic" else want.route_table_change(body)
            if replanned is None:
                return replace(current, etag=body.get("etag"))  # already right: a lost answer to a write that landed
            current = replanned
        return None

    def apply(self, changes: Sequence[Change], want: Desired, fence: Fence, on_done: Callable[[Change], None],
              skip: Skip | None = None) -> list[Change]:
        # Floating IPs that one operation can move (shared.adapters.moves): both NICs of each are left to it, then put right.
        moves = network_moves.movable(self, want, changes)

        def mover(pair: Sequence[Change], report: Callable[[Change], None], run: Run) -> list[tuple[Change, bool]]:
            return network_moves.move_then_settle(self, moves, pair, want, fence, report, run)

        return apply_in_order(changes, lambda c: self._write(c, want, fence), self._nic_pool, self._table_pool, on_done, skip,
                              frozenset(n.lower() for m in moves for n in m.nics), mover)
