"""Flap damping: an NVA that loses 5% of probes at random, for a simulated day (time injected), causes no failover."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from emulation.harness import NvaProcess
from shared.adapters.probes import NetworkProber
from shared.control.context import Tuning
from shared.domain.config import Cluster
from shared.domain.observations import ProbeResult
from shared.domain.policy import decide, initial_state


@dataclass
class FlapFigures:
    cycles: int = 0
    failed_runs: dict[str, int] | None = None
    failovers: int = 0
    no_healthy_alerts: int = 0
    attempts_per_run: int = 0
    socket_probes: int = 0
    socket_failed_runs: int = 0
    socket_failed_single_tries: int = 0


def simulate_day(cluster: Cluster, drop: float = 0.05, attempts: int = 3, interval: float = 5.0, seed: int = 7) -> FlapFigures:
    """Runs the pure policy over a day of probe runs; each run is `attempts` tries, each lost with probability `drop`."""
    rng = random.Random(seed)
    now = datetime(2026, 11, 21, tzinfo=UTC)
    state = replace(initial_state(cluster, unplaced=False), last_reconcile_at=now + timedelta(days=2))
    lease = timedelta(seconds=Tuning().lease_seconds)
    cycles = int(86400 / interval)
    figures = FlapFigures(cycles=cycles, failed_runs={n: 0 for n in cluster.names()}, attempts_per_run=attempts)
    for _ in range(cycles):
        results = {}
        for name in cluster.names():
            ok = any(rng.random() >= drop for _ in range(attempts))
            results[name] = ProbeResult(ok, None if ok else "timed out")
            figures.failed_runs[name] += not ok  # type: ignore[index]
        plan = decide(results, state, cluster, now, "sim", lease)
        figures.failovers += plan.action == "failover"
        figures.no_healthy_alerts += any(e.name == "NoHealthyNva" for e in plan.events)
        state = plan.state
        now += timedelta(seconds=interval)
    return figures


def socket_check(nva: NvaProcess, cluster: Cluster, figures: FlapFigures, probes: int, drop: float = 0.05) -> FlapFigures:
    """The same loss on a real NVA process: how many probe runs fail with the prober's retries, and with single tries."""
    nva.set_mode("up", drop_rate=drop)
    try:
        probe = cluster.nvas[0].probe.model_copy(update={"address": nva.address, "port": nva.ports["http"], "protocol": "http"})
        timeout = 0.6
        retrying, single = NetworkProber(attempts=3), NetworkProber(attempts=1)
        for _ in range(probes):
            figures.socket_probes += 1
            figures.socket_failed_runs += not retrying.probe_one(probe, timeout).ok
            figures.socket_failed_single_tries += not single.probe_one(probe, timeout / 3).ok
    finally:
        nva.set_mode("up", drop_rate=0.0)
    return figures
