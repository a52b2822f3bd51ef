"""Keeps clusters apart when probing: one bounded pool of probe threads per cluster, and name resolution with a deadline."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TypeVar

T = TypeVar("T")
Lookup = Callable[[str, int], list[str]]  # a host name and port -> its addresses (blocking, like getaddrinfo)


def getaddrinfo_lookup(host: str, port: int) -> list[str]:
    """The system resolver: every address of `host`, in the order it gives them."""
    return list(dict.fromkeys(str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)))


class BoundedResolver:
    """Name resolution a probe waits for only until its deadline. The lookup runs in a thread of its own, not the probe's:
    a resolver that never answers holds that thread, never a probe slot, and callers asking for the same name meanwhile
    share the lookup in flight, so a hung resolver costs one thread per name, however many runs ask."""

    def __init__(self, lookup: Lookup = getaddrinfo_lookup) -> None:
        self._lookup = lookup
        self._lock = threading.Lock()
        self._inflight: dict[tuple[str, int], Future[list[str]]] = {}

    def resolve(self, host: str, port: int, timeout: float) -> str:
        """The first address of `host` (an IP address as it is); TimeoutError or OSError naming the host otherwise."""
        try:
            return str(ipaddress.ip_address(host))
        except ValueError:
            pass
        key = (host.lower(), port)
        with self._lock:
            future = self._inflight.get(key)
            if future is None or future.done():
                future = self._inflight[key] = Future()
                threading.Thread(target=self._run, args=(key, future), name=f"resolve-{host[:40]}", daemon=True).start()
        try:
            addresses = future.result(max(0.0, timeout))
        except FutureTimeout:
            raise TimeoutError(f"name resolution of {host} timed out after {timeout:.2g}s") from None
        except OSError as err:
            raise OSError(f"name resolution of {host} failed: {err}") from None
        if not addresses:
            raise OSError(f"name resolution of {host} found no address")
        return addresses[0]

    def _run(self, key: tuple[str, int], future: Future[list[str]]) -> None:
        try:
            future.set_result(self._lookup(*key))
        except Exception as err:  # handed to every caller waiting on this lookup
            future.set_exception(err if isinstance(err, OSError) else OSError(str(err) or type(err).__name__))


class ClusterPools:
    """One bounded pool of probe threads per cluster, so one cluster's hung or black-holed probes never take the threads
    another cluster's probes (health probes, role probes) run on. A pool holds twice its first run's calls, 4 to 64."""

    def __init__(self, floor: int = 4, ceiling: int = 64) -> None:
        self._floor, self._ceiling = floor, ceiling
        self._lock = threading.Lock()
        self._pools: dict[str, ThreadPoolExecutor] = {}

    def pool(self, cluster: str, calls: int) -> ThreadPoolExecutor:
        """The cluster's pool (made for `calls` calls a run the first time it is asked for)."""
        with self._lock:
            if cluster not in self._pools:
                workers = min(self._ceiling, max(self._floor, 2 * calls))
                self._pools[cluster] = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"probe-{cluster[:20]}")
            return self._pools[cluster]

    def gather(self, cluster: str, calls: Mapping[str, Callable[[], T]], deadline: float,
               late: Callable[[str], T]) -> dict[str, T]:
        """Run every call on the cluster's pool and collect the answers by `deadline` (time.monotonic()). A call without an
        answer by then gets late(name), and one that has not started is cancelled: nothing of this run outlives it as
        long as each call keeps to the deadline itself."""
        pool = self.pool(cluster, len(calls))
        futures = {name: pool.submit(call) for name, call in calls.items()}
        results: dict[str, T] = {}
        for name, future in futures.items():
            try:
                results[name] = future.result(max(0.0, deadline - time.monotonic()))
            except FutureTimeout:
                future.cancel()
                results[name] = late(name)
        return results
