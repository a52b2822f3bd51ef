"""Reading Azure back: readiness every reconcileEverySeconds and on request, drift repair toward an active healthy now."""

from __future__ import annotations

import logging
from typing import Any

from shared.control.assess import placement_ok, with_check
from shared.control.carry_out import CarryOut
from shared.domain.config import Cluster
from shared.domain.desired import addresses_unread, plan_changes
from shared.domain.journal_rules import healthy_now
from shared.domain.policy import initial_state, start
from shared.domain.state import ClusterState
from shared.errors import PermanentError, StateConflict, StateUnavailable

_log = logging.getLogger("nva_failover.engine")


class Reconcile(CarryOut):
    """Readiness and drift repair (a repair is a change like any other: locked, then carried out)."""

    def _reconcile(self, cluster: Cluster, state: ClusterState, healthy: list[str] | None = None,
                   repair: bool = True) -> tuple[ClusterState, str]:
        """Read Azure back and assess readiness; when Azure differs from the recorded active (healthy now), take the lock
        and repair it. `healthy`: the NVAs whose probe answered in this run (default: those recorded healthy); `repair`
        False: assess only (a cluster first seen)."""
        if healthy is None:
            healthy = [n for n in cluster.names() if state.nva_health(n).healthy is True]
        survey = self.assessor.survey(cluster)
        roles = {n: (h.role, h.role_detail or "") for n, h in state.health.items() if h.role}
        readiness = self.assessor.assess(cluster, state.active, healthy, self.clock(), survey, roles=roles)
        try:
            view, _, failure = survey
            if failure is not None or (blocking := addresses_unread(view)):
                # Route tables that cannot be read are only named by readiness: the rest is still repaired.
                raise PermanentError(failure or "; ".join(f"{r}: {why}" for r, why in blocking.items()))
            if not plan_changes(cluster, state.active, view):
                return state, "reconciled: no drift"
            if not repair or state.paused or not healthy_now(state.nva_health(state.active)):
                why = "first sight" if not repair else "paused" if state.paused else f"{state.active} is not healthy now"
                return state, f"drift found, not repaired: {why}"  # nothing moves toward an NVA not known healthy
            try:
                locked = self.store.save(start(state, "repair", state.active, "auto", "drift repair", self.clock(), self.actor,
                                               self._lease))
            except StateConflict:
                return self._load(cluster), "stood down: another actor took the lock"
            skipped: list[dict[str, str]] = []
            repaired = self._execute(cluster, locked, resumed=False, view=view, skipped_out=skipped)[0]
            if not skipped:  # a table it could not write still differs: placement keeps saying so
                readiness = with_check(readiness, placement_ok(state.active))
            return repaired, "drift repaired"
        finally:
            self.assessor.record(self.store, cluster.name, readiness)

    def check(self, name: str) -> dict[str, Any]:
        """Readiness computed now (contract `check`): reads Azure and probes; writes nothing but the readiness record."""
        cluster = self.cluster(name)
        state_error = None
        try:
            state = self._load(cluster)
        except StateUnavailable as err:
            state, state_error = initial_state(cluster), str(err)
        results = self.prober.probe_all(cluster.nvas, cluster.policy.probe_timeout_seconds, cluster.name)
        healthy = [n for n, r in results.items() if r.ok]
        roles = {n: (r.role.role, r.role.detail) for n, r in results.items() if r.role}
        readiness = self.assessor.assess(cluster, state.active, healthy, self.clock(), self.assessor.survey(cluster), state_error,
                                         roles=roles)
        if state_error is None:
            readiness = self.assessor.record(self.store, cluster.name, readiness)[0]
        return readiness.as_json(cluster.name)

