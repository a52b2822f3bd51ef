"""The pure decision policy: decide(observations, state, config, now) -> Plan. No I/O; time is injected."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from .appliance import Lead, lead, with_roles
from .config import Cluster, Policy
from .errors import RequestError
from .probes import ProbeResult
from .state import ClusterState, Journal, NvaHealth, Trigger

Action = Literal["none", "failover", "resume", "reconcile", "repair"]


@dataclass(frozen=True)
class Event:
    """An event to emit once the plan's state is recorded."""

    name: str
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    """What to record (state, a conditional write) and then do (action), and the events it raises."""

    state: ClusterState
    action: Action = "none"
    events: tuple[Event, ...] = ()
    reason: str = ""
    record: bool = True  # False: write nothing (another actor's change holds the lock; its writes must not be disturbed)

    @property
    def target(self) -> str | None:
        return self.state.journal.to_nva if self.state.journal else None


@dataclass(frozen=True)
class ManualRequest:
    """An operator's failover request (contract §4)."""

    target: str | None = None
    reason: str | None = None
    force: bool = False
    dry_run: bool = False


def initial_state(cluster: Cluster) -> ClusterState:
    return ClusterState(name=cluster.name, active=cluster.preferred_nva,
                        health={n: NvaHealth() for n in cluster.names()})


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
    """The healthy standby with the longest run of good probes; ties go to configuration order."""
    candidates = [n for n in cluster.names() if n != exclude and state.nva_health(n).healthy is True]
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
    actor: str, lease: timedelta,
) -> Plan:
    """One timer run's decision for one cluster."""
    policy = cluster.policy
    health, events = observe(state.health, observations, policy, now)
    new = state.with_health(with_roles(health, observations, now))
    active = new.nva_health(new.active)

    if new.phase == "failing_over" and new.journal is not None:
        journal = new.journal
        if journal.lease_live(now) and journal.lease_owner != actor:
            return Plan(state, "none", (), f"{journal.kind} to {journal.to_nva} in progress", record=False)
        taken = replace(journal, lease_owner=actor, lease_until=now + lease)
        return Plan(replace(new, journal=taken), "resume", tuple(events), f"resume {journal.kind} to {journal.to_nva}")

    if policy.decider == "appliance":
        return _follow(lead(new, cluster, observations, now), events, now, actor, lease)

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
        policy.failback == "preferred" and not new.paused and new.active != preferred and pref.healthy is True
        and pref.healthy_since is not None
        and now - pref.healthy_since >= timedelta(seconds=policy.failback_after_seconds)
        and (new.last_failover_at is None or now - new.last_failover_at >= timedelta(seconds=policy.hold_down_seconds))
    ):
        reason = f"failback to preferred {preferred}"
        return Plan(start(new, "failover", preferred, "auto", reason, now, actor, lease), "failover", tuple(events), reason)

    due = new.last_reconcile_at is None or now - new.last_reconcile_at >= timedelta(seconds=policy.reconcile_every_seconds)
    if due and not new.paused:
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
    """An operator's failover: to `target` or the healthiest standby; to the active NVA, a drift repair."""
    if state.phase == "failing_over" and state.journal is not None:
        journal = state.journal
        if journal.lease_live(now) or request.target not in (None, journal.to_nva):
            raise RequestError(409, "FailoverInProgress",
                               f"a {journal.kind} of {cluster.name} to {journal.to_nva} (epoch {journal.epoch}) is in progress")
        taken = replace(journal, lease_owner=actor, lease_until=now + lease)
        return Plan(replace(state, journal=taken), "resume", (), f"resume {journal.kind} to {journal.to_nva}")
    target = request.target
    if target is not None and target not in cluster.names():
        raise RequestError(404, "NvaNotFound", f"{target!r} is not an NVA of cluster {cluster.name!r} ({', '.join(cluster.names())})")
    reason = request.reason or "manual failover"
    if target is None:
        target = healthiest_standby(state, cluster, exclude=state.active)
        if target is None:
            raise RequestError(409, "NoHealthyTarget",
                               f"no standby of {cluster.name!r} is healthy; name a target and set force to override")
    if target == state.active:
        return Plan(start(state, "repair", target, "manual", reason, now, actor, lease), "repair", (), reason)
    if state.nva_health(target).healthy is not True and not request.force:
        h = state.nva_health(target)
        raise RequestError(409, "TargetUnhealthy",
                           f"{target!r} is not healthy (last error: {h.last_error or 'not yet probed healthy'}); set force to override")
    return Plan(start(state, "failover", target, "manual", reason, now, actor, lease, force=request.force), "failover", (), reason)
