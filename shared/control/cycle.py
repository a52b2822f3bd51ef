"""The timer's run: every cluster probed, each decided (Azure read when the decision asks where a cluster is), recorded, acted on."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

from shared.control import executor
from shared.control.context import _ms, _text
from shared.control.gathered import Gathered
from shared.control.heartbeat import Run, beat
from shared.control.reconcile import Reconcile
from shared.domain.config import Cluster
from shared.domain.journal_rules import needs_placing, place
from shared.domain.observations import ProbeResult
from shared.domain.placement import Placement, placement_of, unread
from shared.domain.policy import Plan, decide
from shared.domain.state import ClusterState
from shared.errors import EngineError, StateConflict, StateUnavailable, WriteNotPermitted
from shared.events import emit

_log = logging.getLogger("nva_failover.engine")


class Cycle(Reconcile):
    """One probe cycle per timer invocation; every cluster in its own thread, one catch at the top of each."""

    def probe_cycle(self) -> dict[str, str]:
        """Probe every cluster (in parallel) and act; answers each cluster's outcome. Every state is read by one query
        and every NVA probed first (shared.control.gathered), then each cluster decides and acts in its own thread; the run's
        heartbeat sums the clusters up, a cluster's own ProbeCycle comes on change (shared.control.heartbeat)."""
        started = time.monotonic()
        clusters = self.config.clusters
        try:
            loaded: dict[str, ClusterState] | None = self.store.load_all()
        except StateUnavailable as err:  # each cluster reads its own state then (and fails its run if it cannot)
            _log.warning("loading every cluster's state failed: %s", err)
            loaded = None
        prober = self.prober
        gathered = Gathered(prober)
        self.prober = gathered  # every NVA is probed first, then the clusters act
        try:
            gathered.gather(clusters)
            with ThreadPoolExecutor(max_workers=max(1, len(clusters)), thread_name_prefix="cluster") as pool:
                runs = list(pool.map(lambda c: self._cycle_guarded(c, (loaded or {}).get(c.name), gathered.probing_ms(c.name)),
                                     clusters))
        finally:
            self.prober = prober
        beat(runs, _ms(started), sum(self._heartbeat.tell(r) for r in runs), loaded is not None)
        return {r.cluster: r.outcome for r in runs}

    def _cycle_guarded(self, cluster: Cluster, loaded: ClusterState | None = None, probing_ms: int = 0) -> Run:
        started = time.monotonic() - probing_ms / 1000  # its probes, gathered before, count in its duration
        active, healthy, outcome = "?", [], "failed"
        self._preloaded.state = loaded  # the first _load of this run answers it (the cycle's query read it)
        try:
            state, outcome = self._cycle(cluster)
            active = state.active
            healthy = [n for n in cluster.names() if state.nva_health(n).healthy is True]
        except Exception as err:  # the one catch of a timer run: every failure becomes an event
            outcome = f"failed: {err}"
            emit("RunFailed", cluster.name, error=_text(err), kind=type(err).__name__)
            _log.exception("probe cycle of %s failed", cluster.name)
        finally:
            self._preloaded.state = None
        return Run(cluster.name, active, tuple(healthy), outcome, _ms(started))

    def _cycle(self, cluster: Cluster) -> tuple[ClusterState, str]:
        state = self._announce(cluster, self._load(cluster))  # a completed failover whose record is still due
        results = self.prober.probe_all(cluster.nvas, cluster.policy.probe_timeout_seconds, cluster.name)
        owner = executor.new_token() if self.dispatcher else self.actor  # a change this run locks is the executor's
        journal = state.journal
        if journal is not None and not executor.dispatched(journal.lease_owner) and journal.lease_owner != owner:
            # Another actor's lease, judged by what this process sees of it, never by its timestamps (clocks differ):
            lapsed = self._outlast(cluster, state)  # a crashed actor's change is resumed by this run, not a later one
            if lapsed is None:
                self.assessor.warm(cluster)
                return state, f"{journal.kind} to {journal.to_nva} in progress"
            state = lapsed
        plan = self._decide(cluster, results, state, owner)
        if plan.action != "reconcile":
            self.assessor.warm(cluster)  # a new process reads its permissions in the background; later, a no-op
        if not plan.record:
            return state, plan.reason
        unclaimed = plan.action == "resume" and executor.unclaimed(state)
        try:
            state = self.store.save(plan.state)
        except StateConflict:
            return self._load(cluster), "stood down: another actor recorded this cycle"
        self._emit(cluster, plan.events)
        healthy = [n for n, r in results.items() if r.ok]
        try:
            if unclaimed:
                return executor.run_here(self, cluster, state, True, executor.UNCLAIMED)[0], plan.reason
            if plan.action in {"failover", "resume"} and self.dispatcher:
                return executor.hand_off(self, cluster, state, resumed=plan.action == "resume")[0], plan.reason
            if plan.action in {"failover", "resume"}:
                return self._execute(cluster, state, resumed=plan.action == "resume")[0], plan.reason
            if plan.action == "reconcile":
                return executor.hand_off_reconcile(self, cluster, state) if self.dispatcher else self._reconcile(cluster, state, healthy)
            if plan.action == "assess":
                return self._reconcile(cluster, state, healthy, repair=False)
        except WriteNotPermitted as err:
            return self._load(cluster), f"blocked: {err}"
        return state, plan.reason

    def _decide(self, cluster: Cluster, results: Mapping[str, ProbeResult], state: ClusterState, owner: str) -> Plan:
        """decide(), reading where Azure has the cluster when the decision asks for it (first sight, a renamed active,
        a change to give up): one read of Azure, no write."""
        plan = decide(results, state, cluster, self.clock(), owner, self._lease)
        if plan.action == "place":
            plan = decide(results, state, cluster, self.clock(), owner, self._lease, placed=self._placement(cluster))
        return plan

    def _placement(self, cluster: Cluster) -> Placement:
        try:
            return placement_of(cluster, self.network.read(cluster))
        except EngineError as err:
            return unread(str(err))

    def _placed(self, cluster: Cluster, state: ClusterState) -> ClusterState:
        """An operator's request on a cluster first seen or whose active was renamed: placed from Azure first (recorded)."""
        if not needs_placing(state, cluster):
            return state
        placed, detail = place(state, cluster, self._placement(cluster), self.clock())
        if placed.unplaced:
            return placed  # Azure cannot say: decide on the recorded active, record nothing
        try:
            saved = self.store.save(placed)
        except StateConflict:
            return self._load(cluster)
        emit("ClusterPlaced", cluster.name, active=saved.active, detail=detail)
        return saved

