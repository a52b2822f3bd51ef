"""Computes readiness from Azure, the probes and the caller's permissions, records it, and gates a failover's first write."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from shared.control.ports import Permissions
from shared.domain.config import Cluster
from shared.domain.desired import AzureView, Change, addresses_unread, plan_changes
from shared.domain.needs import needs_of
from shared.domain.permission_rules import Need, Verdict, group_of
from shared.domain.readiness import (
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
from shared.domain.state import ClusterState, Journal, StateStore
from shared.errors import EngineError, NotAllWritable, StateConflict, WriteNotPermitted
from shared.events import emit

_log = logging.getLogger("nva_failover.assess")


class Surveyor(Protocol):
    def survey(self, cluster: Cluster) -> tuple[AzureView, list[str]]:
        """What Azure holds for the cluster, and the configured resources it does not have."""


class Assessor:
    """Readiness and the permissions gate. Without a permission cache, permissions are reported as not checked."""

    def __init__(self, network: Surveyor, permissions: Permissions | None) -> None:
        self.network = network
        self.permissions = permissions

    # ----------------------------------------------------------------- the gate
    def gate(self, changes: Sequence[Change]) -> list[Need]:
        """The needs of these writes known not to be granted. Once warm, a failover that is allowed reads nothing."""
        if self.permissions is None or not changes:
            return []
        return list(self.permissions.evaluate(needs_of(changes)).missing)

    def admit(self, journal: Journal, changes: list[Change], partial: bool, skipped: dict[str, str]) -> list[Change]:
        """Before the first write: stop when a needed write is known not to be permitted (a forced change goes ahead).
        When the change may be partial (partial_allowed), only the address moves are gated: a route table whose write is
        not permitted is left out and named in `skipped`. Otherwise it is all or nothing: anything unread stops it too."""
        if journal.force:
            return changes
        if skipped and not partial:
            raise NotAllWritable(journal.to_nva, [f"{r}: {why}" for r, why in skipped.items()])
        missing = set(self.gate(changes))  # one evaluation for every write, however many tables
        moves = [n for n in needs_of([c for c in changes if c.kind == "nic"] if partial else changes) if n in missing]
        if moves:
            raise WriteNotPermitted(journal.to_nva, [n.text() for n in moves])
        if not partial:
            return changes
        kept, refused = [], []
        for c in changes:
            denied = [n for n in needs_of([c]) if n in missing] if c.kind == "routeTable" else []
            refused += [n.text() for n in denied]
            if denied:
                skipped[c.resource] = "not permitted: " + "; ".join(n.text() for n in denied)
            else:
                kept.append(c)
        if refused and not kept and journal.kind == "repair":
            raise WriteNotPermitted(journal.to_nva, refused)  # a repair with nothing it may write is blocked, as before
        return kept

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
        # Tables that cannot be read leave the rest to check; a NIC or public IP that cannot be read leaves nothing.
        usable = failure is None and not addresses_unread(view) and not any("/routetables/" not in m.lower() for m in missing)
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


def partial_allowed(state: ClusterState, journal: Journal) -> bool:
    """Partial beats none (contract §6): a failover away from an NVA that has failed, a forced one and a drift repair go
    on without the route tables they cannot read or write; a move away from a healthy NVA is all or nothing."""
    return journal.force or journal.kind == "repair" or state.nva_health(journal.from_nva).healthy is False


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
