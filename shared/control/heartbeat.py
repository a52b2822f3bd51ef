"""The probe timer's ProbeCycle events: one heartbeat per run summarising every cluster, a cluster's own on change."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from shared.events import emit

REFRESH_SECONDS = 600.0  # a cluster whose run did not change still has its ProbeCycle this often (workbook time ranges)
QUIET = frozenset({"steady", "reconcile due", "reconcile queued", "reconciled: no drift"})  # outcomes of a run at rest
NAMED = 20  # the summary names at most this many clusters that need a look: its size does not grow with the clusters
HEARTBEAT_CLUSTER = "*"  # the summary's `cluster`, as for other app-wide events (RunFailed of an unreadable message)


@dataclass(frozen=True)
class Run:
    """One cluster's part of a probe run, as its ProbeCycle reports it."""

    cluster: str
    active: str
    healthy: tuple[str, ...]
    outcome: str
    duration_ms: int

    @property
    def kind(self) -> str:
        """The outcome without its detail (an error's text, a reason): what a change is judged on."""
        if self.outcome in QUIET:
            return "steady"
        return self.outcome.split(":", 1)[0]

    @property
    def serving(self) -> bool:
        return self.active in self.healthy


class Heartbeat:
    """What a process has told of each cluster: a cluster's ProbeCycle is due when its active, healthy set or kind of
    outcome changed since the last one, on its first run in this process, and every `refresh` seconds."""

    def __init__(self, refresh_seconds: float = REFRESH_SECONDS, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._refresh = refresh_seconds
        self._monotonic = monotonic
        self._told: dict[str, tuple[tuple[str, tuple[str, ...], str], float]] = {}
        self._lock = threading.Lock()

    def tell(self, run: Run) -> bool:
        """The cluster's ProbeCycle, when due; answers whether it was emitted."""
        if not self._due(run):
            return False
        emit("ProbeCycle", run.cluster, active=run.active, healthy=list(run.healthy), durationMs=run.duration_ms,
             outcome=run.outcome)
        return True

    def _due(self, run: Run) -> bool:
        key = (run.active, run.healthy, run.kind)
        now = self._monotonic()
        with self._lock:
            told = self._told.get(run.cluster)
            if told is not None and told[0] == key and now - told[1] < self._refresh:
                return False
            self._told[run.cluster] = (key, now)
            return True


def beat(runs: Sequence[Run], duration_ms: int, told: int, query: bool) -> None:
    """The run's heartbeat: a ProbeCycle of cluster "*" with counts over the clusters and the clusters to look at (at
    most NAMED). `active` and `healthy` keep their types but name no NVA ("" and []): a cluster's fields. `serving`:
    clusters whose active NVA is healthy; `healthyNvas`: healthy NVAs; `told`: per-cluster ProbeCycles of this run;
    `stateQuery`: every state came from the one query at the start (False: each cluster read its own)."""
    kinds: dict[str, int] = {}
    for r in runs:
        kinds[r.kind] = kinds.get(r.kind, 0) + 1
    attention = [r.cluster for r in runs if r.kind != "steady" or not r.serving]
    slowest = max(runs, key=lambda r: r.duration_ms, default=None)
    emit("ProbeCycle", HEARTBEAT_CLUSTER, clusters=len(runs), active="", healthy=[], serving=sum(r.serving for r in runs),
         healthyNvas=sum(len(r.healthy) for r in runs), durationMs=duration_ms, outcomes=kinds, attention=attention[:NAMED],
         attentionCount=len(attention), slowest=slowest.cluster if slowest else "",
         slowestMs=slowest.duration_ms if slowest else 0, told=told, stateQuery=query)
