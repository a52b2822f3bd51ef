"""Computes readiness from Azure, the probes and the caller's permissions, records it, and gates a failover's first write."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from .config import Cluster
from .desired import AzureView, Change, plan_changes
from .errors import EngineError, StateConflict
from .events import emit
from .needs import needs_of
from .permissions import Need, PermissionCache, Verdict, group_of
from .readiness import (
    Check,
    Readiness,
    changed,
    permissions_check,
    placement_check,
    resources_check,
    roles_check,
    standby_check,
    state_check,
)
from .state import ClusterState, StateStore

_log = logging.getLogger("nva_failover.assess")


class Surveyor(Protocol):
    def survey(self, cluster: Cluster) -> tuple[AzureView, list[str]]:
        """What Azure holds for the cluster, and the configured resources it does not have."""


class Assessor:
    """Readiness and the permissions gate. Without a permission cache, permissions are reported as not checked."""

    def __init__(self, network: Surveyor, permissions: PermissionCache | None) -> None:
        self.network = network
        self.permissions = permissions

    # ----------------------------------------------------------------- the gate
    def gate(self, changes: Sequence[Change]) -> list[Need]:
        """The needs of these writes known not to be granted. Once warm, a failover that is allowed reads nothing."""
        if self.permissions is None or not changes:
            return []
        return list(self.permissions.evaluate(needs_of(changes)).missing)

    def warm(self, cluster: Cluster) -> None:
        """Start reading, in the background, the permissions of the resource groups the configuration names."""
        if self.permissions is not None:
            ids = [nva.nic_id(leg) for nva in cluster.nvas for leg in nva.interfaces]
            self.permissions.prefetch(group_of(i) for i in [*ids, *(p.id for p in cluster.public_ips), *cluster.route_tables])

    # ----------------------------------------------------------------- readiness
    def survey(self, cluster: Cluster) -> tuple[AzureView, list[str], str | None]:
        try:
            view, missing = self.network.survey(cluster)
            return view, missing, None
        except EngineError as err:
            return AzureView(), [], str(err)

    def assess(self, cluster: Cluster, active: str, healthy: Collection[str], now: datetime,
               survey: tuple[AzureView, list[str], str | None], state_error: str | None = None,
               roles: Mapping[str, tuple[str, str]] | None = None) -> Readiness:
        """Every check, reading permissions afresh (which warms the gate's cache). `roles`: each NVA's role answer and detail."""
        view, missing, failure = survey
        if failure is not None:
            resources = Check("resources", False, f"Azure could not be read: {failure}")
        else:
            resources = resources_check(cluster, view, missing)
        usable = resources.ok
        checks = (
            state_check(state_error),
            resources,
            placement_check(cluster, active, view, usable),
            standby_check(cluster, active, healthy),
            self._permissions(cluster, view, usable),
        )
        appliances = roles_check(cluster, active, roles or {})
        return Readiness(now, checks if appliances is None else (*checks, appliances))

    def _permissions(self, cluster: Cluster, view: AzureView, usable: bool) -> Check:
        if self.permissions is None:
            return permissions_check(None, {}, [], "no permission reader is configured")
        if not usable:
            return permissions_check(None, {}, [], "the writes cannot be planned while configured resources are missing")
        by_target: dict[Need, list[str]] = {}
        try:
            for target in cluster.names():
                for need in needs_of(plan_changes(cluster, target, view)):
                    by_target.setdefault(need, []).append(target)
        except EngineError as err:
            return permissions_check(None, {}, [], f"the writes cannot be planned: {err}")
        verdict: Verdict = self.permissions.evaluate(sorted(by_target), refresh=True)
        return permissions_check(verdict, by_target, self.permissions.errors(verdict.unreadable))

    # ----------------------------------------------------------------- recording
    def record(self, store: StateStore, cluster: str, readiness: Readiness, attempts: int = 5) -> tuple[Readiness, str | None]:
        """Record readiness with the cluster state (a conditional write) and emit ReadinessChanged when it changed.
        Answers the readiness as recorded (with `state` failing when it could not be) and the state error. Never raises."""
        error: str | None = None
        for _ in range(attempts):
            try:
                state = store.load(cluster)
                if state is None:
                    error = "the cluster has no recorded state yet"
                    break
                previous = state.readiness
                store.save(replace(state, readiness=readiness))
                break
            except StateConflict:
                continue  # a probe cycle wrote in between: read again and record on top of it
            except EngineError as err:
                error = str(err)
                break
        else:
            error = "the state kept changing; readiness not recorded"
            previous = None
        if error is not None:
            readiness = replace(readiness, checks=tuple(state_check(error) if c.name == "state" else c for c in readiness.checks))
            previous = None
        if changed(previous, readiness):
            emit("ReadinessChanged", cluster, ready=readiness.ready, failing=readiness.failing, detail=readiness.detail())
        return readiness, error


def with_check(readiness: Readiness, check: Check) -> Readiness:
    return replace(readiness, checks=tuple(check if c.name == check.name else c for c in readiness.checks))


def abandon(state: ClusterState) -> ClusterState:
    """Undo taking the lock of a change that wrote nothing: steady again, the epoch it had."""
    journal = state.journal
    assert journal is not None
    epoch = state.epoch - 1 if journal.kind == "failover" and state.epoch == journal.epoch else state.epoch
    return replace(state, phase="steady", journal=None, epoch=epoch)


def placement_ok(active: str) -> Check:
    return Check("placement", True, f"drift found and repaired: public IPs and owned routes are on {active}")
