"""Pure: whether a change in flight may go on, and the cluster once it is given up or first placed (contract §6 "Never
stuck", "Never worse"). Precedence: health, then pause, then configuration, then the journal."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from shared.domain.config import Cluster
from shared.domain.decision import Event
from shared.domain.placement import Placement
from shared.domain.state import ClusterState, NvaHealth


def healthy_now(h: NvaHealth) -> bool:
    """Healthy by its threshold and its latest probe answered: the only kind of NVA that traffic is ever moved toward."""
    return h.healthy is True and h.consecutive_failures == 0


def known_health(state: ClusterState, cluster: Cluster) -> ClusterState:
    """Health of the configured NVAs only: a renamed or removed NVA's record is dropped, never consulted."""
    names = cluster.names()
    if all(n in names for n in state.health):
        return state
    return replace(state, health={n: h for n, h in state.health.items() if n in names})


def needs_placing(state: ClusterState, cluster: Cluster) -> bool:
    """First sight (no placement recorded yet) or an active NVA the configuration no longer has."""
    return state.unplaced or state.active not in cluster.names()


PLACE_RETRY_SECONDS = 30.0  # a placement Azure could not answer is read again after this (or reconcileEverySeconds)


def place_due(state: ClusterState, cluster: Cluster, now: datetime) -> bool:
    """Placing is due at once on first sight and for a renamed active; after a read Azure could not answer, again a
    little later, so that an unreadable subscription is not read every run (meanwhile a failover away from a failed NVA
    still happens; only drift repair and failback wait for the placement)."""
    if not needs_placing(state, cluster):
        return False
    if not state.unplaced or state.last_reconcile_at is None:
        return True
    retry = min(PLACE_RETRY_SECONDS, cluster.policy.reconcile_every_seconds)
    return now - state.last_reconcile_at >= timedelta(seconds=retry)


def review(state: ClusterState, cluster: Cluster, now: datetime) -> str | None:
    """Why the journal must be abandoned now, or None when it may be resumed."""
    journal = state.journal
    assert journal is not None
    if journal.to_nva not in cluster.names():
        return f"its target {journal.to_nva} is no longer configured"
    target = state.nva_health(journal.to_nva)
    if not journal.force and not healthy_now(target):
        return f"its target {journal.to_nva} is not healthy now ({target.last_error or 'not yet probed healthy'})"
    if state.paused and journal.trigger == "auto":
        return f"the cluster is paused ({state.paused_reason or 'by an operator'})"
    limit = cluster.policy.reconcile_every_seconds
    if journal.failures and now - journal.started_at >= timedelta(seconds=limit):
        return (f"it kept failing for {int((now - journal.started_at).total_seconds())} s "
                f"({journal.failures} failed attempts; reconcileEverySeconds is {limit:g})")
    return None


def abandon(state: ClusterState, cluster: Cluster, why: str, placed: Placement, now: datetime) -> tuple[ClusterState, Event]:
    """Give the journal up: steady again where Azure has the cluster (read back), its epoch spent. A change that kept
    failing waits a whole reconcile period before drift repair tries again."""
    journal = state.journal
    assert journal is not None
    given_up, event = supersede(state, why)
    if journal.failures and now - journal.started_at >= timedelta(seconds=cluster.policy.reconcile_every_seconds):
        given_up = replace(given_up, last_reconcile_at=now)
    return place(given_up, cluster, placed, now, fallback=placed.addresses or state.active)[0], event


def place(state: ClusterState, cluster: Cluster, placed: Placement, now: datetime,
          fallback: str | None = None) -> tuple[ClusterState, str]:
    """The active NVA from Azure's placement: the one NVA holding everything; else (nowhere or several) `fallback` when it
    is configured (an abandoned change: the NVA holding the addresses, else the recorded active), else `preferred` (first
    sight, contract §6). Unread: the recorded active stands, kept unplaced, and placing is tried again (place_due)."""
    names = cluster.names()
    chosen = placed.where
    if chosen is None:
        chosen = fallback if fallback in names else cluster.preferred_nva
    if placed.error is not None:
        active = state.active if state.active in names else chosen
        return (replace(state, active=active, unplaced=True, last_reconcile_at=now),
                f"{placed.describe()}: {active} stands until it can be")
    return replace(state, active=chosen, unplaced=False), f"{placed.describe()}: {chosen} is active"


def supersede(state: ClusterState, why: str) -> tuple[ClusterState, Event]:
    """An operator's request gives the journal up: the recorded active stands (the new change plans from what Azure
    holds, whatever the old one left), its epoch spent."""
    journal = state.journal
    assert journal is not None
    event = Event("FailoverAbandoned", {"epoch": journal.epoch, "to": journal.to_nva, "reason": why, "kind": journal.kind,
                                        "from": journal.from_nva, "trigger": journal.trigger})
    return replace(state, phase="steady", journal=None), event
