"""Probes every cluster of a timer run before any cluster acts, so the run's state writes never hold a probe past its timeout."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from shared.domain.config import Cluster, Nva
from shared.domain.observations import Prober, ProbeResult


class Gathered:
    """A Prober that answers each cluster's results probed up front (once), and probes anything else itself.

    With hundreds of clusters, a run's table writes and decisions are CPU work in one process: probes running beside them
    wait for the interpreter and time out though the NVAs answered. Gathering first keeps the probes apart from it."""

    def __init__(self, inner: Prober) -> None:
        self.inner = inner
        self._results: dict[str, dict[str, ProbeResult]] = {}
        self._probing: dict[str, int] = {}  # cluster -> milliseconds its probes took
        self._lock = threading.Lock()

    def gather(self, clusters: Sequence[Cluster]) -> None:
        """Probe every cluster, in parallel, and keep the results (and each cluster's probing time) for its run."""
        def probe(cluster: Cluster) -> tuple[str, dict[str, ProbeResult], int]:
            started = time.monotonic()
            results = self.inner.probe_all(cluster.nvas, cluster.policy.probe_timeout_seconds, cluster.name)
            return cluster.name, results, int((time.monotonic() - started) * 1000)

        with ThreadPoolExecutor(max_workers=max(1, len(clusters)), thread_name_prefix="probe-all") as pool:
            gathered = list(pool.map(probe, clusters))
        with self._lock:
            self._results = {name: results for name, results, _ in gathered}
            self._probing = {name: ms for name, _, ms in gathered}

    def probing_ms(self, cluster: str) -> int:
        with self._lock:
            return self._probing.get(cluster, 0)

    def probe_all(self, nvas: Sequence[Nva], timeout: float, cluster: str = "") -> dict[str, ProbeResult]:
        names = {n.name for n in nvas}
        with self._lock:
            kept = self._results.pop(cluster, None)
        if kept is not None and set(kept) == names:
            return kept
        return self.inner.probe_all(nvas, timeout, cluster)
