"""A run probes every cluster before any cluster acts: each cluster's run gets its own results, once."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

from shared.control.gathered import Gathered
from shared.domain.config import Nva, parse_config
from shared.domain.observations import ProbeResult

ROOT = Path(__file__).resolve().parents[2]


class Counting:
    """Answers every NVA healthy after `delay`, counting the probes per cluster."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.calls: dict[str, int] = {}
        self.lock = threading.Lock()

    def probe_all(self, nvas: Sequence[Nva], timeout: float, cluster: str = "") -> dict[str, ProbeResult]:
        time.sleep(self.delay)
        with self.lock:
            self.calls[cluster] = self.calls.get(cluster, 0) + 1
        return {n.name: ProbeResult(True, None, 1.0) for n in nvas}


def test_each_cluster_gets_its_gathered_results_once_then_probes_again() -> None:
    config = parse_config((ROOT / "nva-ha.example.json").read_text())
    inner = Counting(delay=0.2)
    gathered = Gathered(inner)
    gathered.gather(config.clusters)
    cluster = config.clusters[0]
    assert gathered.probing_ms(cluster.name) >= 200
    first = gathered.probe_all(cluster.nvas, 1.0, cluster.name)
    assert set(first) == set(cluster.names()) and inner.calls[cluster.name] == 1, "answered from the gathering"
    gathered.probe_all(cluster.nvas, 1.0, cluster.name)
    assert inner.calls[cluster.name] == 2, "a second probe of the run (a check, say) probes again"
    assert gathered.probing_ms("nowhere") == 0
