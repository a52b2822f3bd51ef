"""The caller's Azure permissions as Resource Manager reports them (Microsoft.Authorization/permissions), cached, evaluated as Azure does."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError, HttpResponseError
from azure.mgmt.authorization import AuthorizationManagementClient

from shared.domain.permission_rules import Grant, Listed, Need, PermissionReader, Verdict, allows, group_of

_log = logging.getLogger("nva_failover.permissions")
PERMISSIONS_API = "2022-04-01"


class PermissionCache:
    """Listed permissions by scope (lower-cased). A grant found is trusted for `ttl` seconds or until refreshed (every
    reconcile refreshes it); a denial is re-read before it blocks."""

    def __init__(self, reader: PermissionReader, ttl: float = 600.0, parallel: int = 16) -> None:
        self._reader = reader
        self._ttl = ttl
        self._lock = threading.Lock()
        self._listed: dict[str, Listed] = {}
        self._pending: dict[str, Future[None]] = {}  # background reads in flight
        self._pool = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="perm-read")
        self.reads = 0  # scopes read from Resource Manager, for the benchmark and tests

    def _fetch(self, scopes: Iterable[str], refresh: bool) -> dict[str, Listed]:
        wanted = sorted({s.lower(): s for s in scopes}.items())
        oldest = time.monotonic() - self._ttl
        with self._lock:
            waiting = [self._pending[k] for k, _ in wanted if not refresh and k in self._pending]
        for background in waiting:  # a background read of the same scope is under way: wait for it, do not read twice
            background.result()
        with self._lock:
            todo = [(k, s) for k, s in wanted if refresh or k not in self._listed or self._listed[k].at < oldest]
        futures = {k: self._pool.submit(self._reader.list, s) for k, s in todo}
        fresh = {k: future.result() for k, future in futures.items()}  # read without holding the lock
        with self._lock:
            self._listed.update(fresh)
            self.reads += len(fresh)
            return {k: self._listed[k] for k, _ in wanted if k in self._listed}

    def prefetch(self, scopes: Iterable[str]) -> None:
        """When nothing was ever read (a new process), read these scopes in the background so that its first failover
        finds them warm. Returns at once; afterwards a no-op (reconciles and the gate keep the cache fresh)."""
        with self._lock:
            if self._listed or self._pending:
                return
            for key, scope in sorted({s.lower(): s for s in scopes}.items()):
                self._pending[key] = self._pool.submit(self._prefetched, key, scope)

    def _prefetched(self, key: str, scope: str) -> None:
        listed = self._reader.list(scope)
        with self._lock:
            self._listed[key] = listed
            self.reads += 1
            self._pending.pop(key, None)

    def refresh(self) -> None:
        """Azure refused a write (403): read every scope known again, in the background, so that the next gate sees a
        grant revoked within the cache's life. A gate that needs one of them meanwhile waits for its read."""
        with self._lock:
            for key, listed in self._listed.items():
                if key not in self._pending:
                    self._pending[key] = self._pool.submit(self._prefetched, key, listed.scope)

    def evaluate(self, needs: Sequence[Need], refresh: bool = False) -> Verdict:
        """Which needs are not granted. Reads each resource group once (cached); a need the group does not grant is
        looked up at its own resource (a grant on the resource or its parent). A denial seen in the cache is re-read."""
        verdict = self._evaluate(needs, refresh)
        if verdict.missing and not refresh:
            verdict = self._evaluate(needs, True, only={n.scope.lower() for n in verdict.missing} | {
                group_of(n.scope).lower() for n in verdict.missing})
        return verdict

    def _evaluate(self, needs: Sequence[Need], refresh: bool, only: set[str] | None = None) -> Verdict:
        def again(scope: str) -> bool:
            return refresh and (only is None or scope.lower() in only)

        groups = sorted({group_of(n.scope) for n in needs})
        listed = self._fetch([g for g in groups if again(g)], True) if refresh else {}
        listed.update(self._fetch([g for g in groups if not again(g)], False))
        unreadable: set[str] = set()
        open_needs: list[Need] = []
        for need in needs:
            at_group = listed.get(group_of(need.scope).lower())
            if at_group is None or at_group.grants is None:
                unreadable.add(group_of(need.scope))
            elif not allows(at_group.grants, need.action):
                open_needs.append(need)
        resource_scopes = [n.scope for n in open_needs if n.scope.lower() != group_of(n.scope).lower()]
        listed_res = self._fetch([s for s in resource_scopes if again(s)], True) if refresh else {}
        listed_res.update(self._fetch([s for s in resource_scopes if not again(s)], False))
        missing = []
        for need in open_needs:
            own = listed_res.get(need.scope.lower())  # None: the need is at its group's scope, read and not granted
            if own is not None and own.grants is None:  # unreadable counts as granted, at the resource as at its group
                unreadable.add(need.scope)
            elif own is None or not allows(own.grants or (), need.action):
                missing.append(need)
        return Verdict(tuple(sorted(set(missing))), tuple(sorted(unreadable)))

    def errors(self, scopes: Iterable[str]) -> list[str]:
        with self._lock:
            return [f"{s}: {self._listed[s.lower()].error}" for s in scopes
                    if s.lower() in self._listed and self._listed[s.lower()].error]


class AzurePermissionReader:
    """Reads `Microsoft.Authorization/permissions` with azure-mgmt-authorization, one short attempt per scope."""

    def __init__(self, credential: TokenCredential, endpoint: str, timeout: float = 10.0) -> None:
        self._credential = credential
        self._endpoint = endpoint.rstrip("/")
        self._timeout = timeout
        self._clients: dict[str, AuthorizationManagementClient] = {}
        self._lock = threading.Lock()

    def _client(self, subscription: str) -> AuthorizationManagementClient:
        with self._lock:
            key = subscription.lower()
            if key not in self._clients:
                self._clients[key] = AuthorizationManagementClient(
                    self._credential, subscription, base_url=self._endpoint, api_version=PERMISSIONS_API, retry_total=1,
                    credential_scopes=["https://management.azure.com/.default"], connection_timeout=self._timeout,
                    read_timeout=self._timeout)
            return self._clients[key]

    def list(self, scope: str) -> Listed:
        parts = scope.split("/")
        try:
            ops = self._client(parts[2]).permissions
            if len(parts) <= 5:
                found = list(ops.list_for_resource_group(parts[4]))
            else:  # /subscriptions/s/resourceGroups/g/providers/<ns>/<parent path…>/<type>/<name>
                found = list(ops.list_for_resource(parts[4], parts[6], "/".join(parts[7:-2]), parts[-2], parts[-1]))
        except (AzureError, ValueError, IndexError) as err:
            status = f"{err.status_code} " if isinstance(err, HttpResponseError) else ""
            why = f"{status}{getattr(getattr(err, 'error', None), 'code', None) or type(err).__name__}"
            _log.warning("permissions at %s could not be read: %s", scope, err)
            return Listed(scope, None, f"could not read permissions ({why})", time.monotonic())
        grants = tuple(Grant(tuple(p.actions or ()), tuple(p.not_actions or ())) for p in found)
        return Listed(scope, grants, None, time.monotonic())
