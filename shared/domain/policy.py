"""The pure decision policy: decide(observations, state, config, now) -> Plan. No I/O; time is injected."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from shared.domain.appliance import Lead, lead, with_roles
from shared.domain.config import Cluster, Policy
from shared.domain.decision import Action, Event, Plan
from shared.domain.journal_rules import abandon, healthy_now, known_health, place, place_due, review, supersede
from shared.domain.observations import ProbeResult
from shared.domain.placement import Placement
from shared.domain.state import ClusterState, Journal, NvaHealth, Trigger
from shared.errors import Refused

__all__ = ["Action", "Event", "ManualRequest", "Plan", "decide", "decide_manual", "healthiest_standby", "initial_state",
           "observe", "start"]

@dataclass(frozen=True)
class ManualRequest:
    """An operator's failover request (contract §4)."""

    target: str | None = None
    reason: str | None = None
    force: bool = False
    dry_run: bool = False


def initial_state(cluster: Cluster, unplaced: bool = True) -> ClusterState:
    """A cluster first seen: `preferred` stands in as active until Azure's placement is read (unplaced)."""
    return ClusterState(name=cluster.name, active=cluster.preferred_nva,
                        health={n: NvaHealth() for n in cluster.names()}, unplaced=unplaced)


def observe(
    health: Mapping[str, NvaHealth], results: Mapping[str, ProbeResult], policy: Policy, now: datetime,
) -> tuple[dict[str, NvaHealth], list[Event]]:
    """Fold one round of probe results into the counters; an NVA's verdict flips only at its threshold."""
    out: dict[str, NvaHealth] = dict(health)
    events: list[Event] = []
    for name, result in results.items():
        h = health.get(name, NvaHealth())
        if result.ok:
            successes = h.consecutive_successes + 1
            flips = h.healthy is not True and successes >= policy.healthy_threshold
            out[name] = replace(h, consecutive_successes=successes, consecutive_failures=0, last_probe_at=now,
                                last_error=None, healthy=True if flips else h.healthy,
                                healthy_since=now if flips else h.healthy_since, failing_since=None)
        else:
            failures = h.consecutive_failures + 1
            flips = h.healthy is not False and failures >= policy.unhealthy_threshold
            out[name] = replace(h, consecutive_failures=failures, consecutive_successes=0, last_probe_at=now,
                                last_error=result.error, healthy=False if flips else h.healthy,
                                healthy_since=None if flips else h.healthy_since,
                                failing_since=h.failing_since if h.consecutive_failures and h.failing_since else now)
        if flips:
            events.append(Event("NvaHealthChanged", {"nva": name, "healthy": out[name].healthy, "error": out[name].last_error}))
    return out, events


def healthiest_standby(state: ClusterState, cluster: Cluster, exclude: str) -> str | None:
    """The standby healthy now with the longest run of good probes; ties go to configuration order."""
    candidates = [n for n in cluster.names() if n != exclude and healthy_now(state.nva_health(n))]
    if not candidates:
        return None
    return max(candidates, key=lambda n: (state.nva_health(n).consecutive_successes, -cluster.names().index(n)))


def start(state: ClusterState, kind: Literal["failover", "repair"], to: str, trigger: Trigger, reason: str, now: datetime,
          actor: str, lease: timedelta, force: bool = False, detected_at: datetime | None = None) -> ClusterState:
    """The state that takes the lock for a change: phase failing_over, a journal, the epoch bumped for a failover."""
    epoch = state.epoch + 1 if kind == "failover" else state.epoch
    journal = Journal(kind=kind, epoch=epoch, from_nva=state.active, to_nva=to, trigger=trigger, reason=reason,
                      started_at=now, lease_owner=actor, lease_until=now + lease, force=force, detected_at=detected_at)
    return replace(state, phase="failing_over", epoch=epoch, journal=journal)


def decide(
    observations: Mapping[str, ProbeResult], state: ClusterState, cluster: Cluster, now: datetime,
    actor: str, lease: timedelta, placed: Placement | None = None,
) -> Plan:
    """One timer run's decision for one cluster, afresh every run from health, pause, configuration and the journal, in
    that order of precedence. When it needs to know where Azure has the cluster (first sight, a renamed active, a change
    to give up) and `placed` is None, it answers action "place": the caller reads Azure and decides again with it."""
    policy = cluster.policy
    health, events = observe(known_health(state, cluster).health, observations, policy, now)
    new = state.with_health(with_roles(health, observations, now))
    journal = new.journal if new.phase == "failing_over" else None
    if journal is not None and journal.lease_live(now) and journal.lease_owner != actor:
        return Plan(state, "none", (), f"{journal.kind} to {journal.to_nva} in progress", record=False)
    given_up = review(new, cluster, now) if journal is not None else None
    placing = place_due(new, cluster, now)
    if (placing or given_up is not None) and placed is None:
        return Plan(state, "place", (), "where Azure has the cluster must be read first", record=False)
    first_sight = placing and placed is not None
    if first_sight:
        assert placed is not None
        new, detail = place(new, cluster, placed, now)
        if not new.unplaced:  # while Azure cannot answer, each run's outcome says so (no event every run)
            events.append(Event("ClusterPlaced", {"active": new.active, "detail": detail}))
    if journal is not None:
        if given_up is None:
            taken = replace(journal, lease_owner=actor, lease_until=now + lease)
            return Plan(replace(new, journal=taken), "resume", tuple(events), f"resume {journal.kind} to {journal.to_nva}")
        assert placed is not None
        new, abandoned = abandon(new, cluster, given_up, placed, now)
        events.append(abandoned)
    if first_sight and not new.unplaced:  # readiness at once, and nothing written on first sight
        return Plan(replace(new, last_reconcile_at=now), "assess", tuple(events), f"first sight: {new.active} is active")
    plan = _afresh(new, events, cluster, observations, now, actor, lease)
    if new.unplaced and plan.action == "reconcile":  # the appliances' lead reconciles on its own
        return Plan(new, "none", plan.events, f"unplaced (Azure could not be read), so not: {plan.reason}")
    return plan


def _afresh(new: ClusterState, events: list[Event], cluster: Cluster, observations: Mapping[str, ProbeResult],
            now: datetime, actor: str, lease: timedelta) -> Plan:
    """The decision once no change is in flight: the appliances' lead or the probes' verdicts, failback, reconcile."""
    policy = cluster.policy
    if policy.decider == "appliance":
        return _follow(lead(new, cluster, observations, now), events, now, actor, lease)

    active = new.nva_health(new.active)
    if active.healthy is False:
        target = healthiest_standby(new, cluster, exclude=new.active)
        if target is None:
            errors = {n: new.nva_health(n).last_error for n in cluster.names()}
            if new.alarm == "no_healthy":
                return Plan(new, "none", tuple(events), "no healthy NVA (raised already)")
            alarmed = replace(new, alarm="no_healthy")
            return Plan(alarmed, "none", (*events, Event("NoHealthyNva", {"active": new.active, "errors": errors})),
                        "active failed and no standby is healthy")
        if new.paused:
            return Plan(new, "none", tuple(events), f"paused: would fail over to {target}")
        reason = f"{new.active} failed: {active.last_error}"
        return Plan(start(replace(new, alarm=None), "failover", target, "auto", reason, now, actor, lease,
                          detected_at=active.failing_since),
                    "failover", tuple(events), reason)

    if new.alarm is not None:
        new = replace(new, alarm=None)

    preferred = cluster.preferred_nva
    pref = new.nva_health(preferred)
    if (
        policy.failback == "preferred" and not new.paused and not new.unplaced and new.active != preferred
        and pref.healthy is True
        and pref.healthy_since is not None
        and now - pref.healthy_since >= timedelta(seconds=policy.failback_after_seconds)
        and (new.last_failover_at is None or now - new.last_failover_at >= timedelta(seconds=policy.hold_down_seconds))
    ):
        reason = f"failback to preferred {preferred}"
        return Plan(start(new, "failover", preferred, "auto", reason, now, actor, lease), "failover", tuple(events), reason)

    # Unplaced (Azure could not say where the cluster is): no drift repair and no failback toward the stand-in active; a
    # failover away from a failed NVA still goes to a healthy one (it plans from what Azure holds, whatever the stand-in).
    due = new.last_reconcile_at is None or now - new.last_reconcile_at >= timedelta(seconds=policy.reconcile_every_seconds)
    if due and not new.paused and not new.unplaced:
        return Plan(replace(new, last_reconcile_at=now), "reconcile", tuple(events), "reconcile due")
    return Plan(new, "none", tuple(events), "steady")


def _follow(led: Lead, events: list[Event], now: datetime, actor: str, lease: timedelta) -> Plan:
    """decider appliance: the plan for the appliances' lead (shared/appliance.py)."""
    raised = (*events, *led.events)
    if led.to is None:
        return Plan(led.state, led.action, raised, led.reason)
    return Plan(start(led.state, "failover", led.to, "auto", led.reason, now, actor, lease, detected_at=led.claimed_at),
                "failover", raised, led.reason)


def decide_manual(
    state: ClusterState, cluster: Cluster, request: ManualRequest, now: datetime, actor: str, lease: timedelta,
) -> Plan:
    """An operator's failover: to `target` or the healthiest standby; to the active NVA, a drift repair. A change in
    flight is resumed when asked for again; `force` supersedes it, and so does any request once the change is to be
    given up (its target unhealthy or unconfigured, or failing too long): the old one is abandoned, its events first."""
    abandoned: tuple[Event, ...] = ()
    if state.phase == "failing_over" and state.journal is not None:
        journal = state.journal
        given_up = "superseded by a forced manual failover" if request.force else review(state, cluster, now)
        if given_up is None or (journal.lease_live(now) and not request.force):
            if journal.lease_live(now) or request.target not in (None, journal.to_nva):
                raise Refused("FailoverInProgress",
                                   f"a {journal.kind} of {cluster.name} to {journal.to_nva} (epoch {journal.epoch}) is in progress")
            taken = replace(journal, lease_owner=actor, lease_until=now + lease)
            return Plan(replace(state, journal=taken), "resume", (), f"resume {journal.kind} to {journal.to_nva}")
        state, event = supersede(state, given_up)
        abandoned = (event,)
    target = request.target
    if target is not None and target not in cluster.names():
        raise Refused("NvaNotFound", f"{target!r} is not an NVA of cluster {cluster.name!r} ({', '.join(cluster.names())})")
    reason = request.reason or "manual failover"
    if target is None:
        target = healthiest_standby(state, cluster, exclude=state.active)
        if target is None:
            raise Refused("NoHealthyTarget",
                               f"no standby of {cluster.name!r} is healthy; name a target and set force to override")
    if not healthy_now(state.nva_health(target)) and not request.force:
        h = state.nva_health(target)
        raise Refused("TargetUnhealthy",
                           f"{target!r} is not healthy (last error: {h.last_error or 'not yet probed healthy'}); set force to override")
    kind: Literal["failover", "repair"] = "repair" if target == state.active else "failover"
    return Plan(start(state, kind, target, "manual", reason, now, actor, lease, force=request.force), kind, abandoned, reason)
