"""Pure: appliance-led decisions (`policy.decider: appliance`, contract §6): Azure follows the appliances' own election."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from shared.domain.config import Cluster
from shared.domain.decision import Event
from shared.domain.observations import ProbeResult
from shared.domain.state import ClusterState, NvaHealth, iso

SPLIT = "split_brain"


@dataclass(frozen=True)
class Lead:
    """What the appliances' election asks of this run: fail over `to` a claimant, reconcile, or nothing; and its events."""

    state: ClusterState
    to: str | None = None
    action: Literal["none", "reconcile"] = "none"
    reason: str = ""
    claimed_at: datetime | None = None
    events: tuple[Event, ...] = ()


def with_roles(health: Mapping[str, NvaHealth], results: Mapping[str, ProbeResult], now: datetime) -> dict[str, NvaHealth]:
    """Record each appliance's role answer; a claim's start survives an unanswered probe and ends at a "standby"."""
    out = dict(health)
    for name, result in results.items():
        if result.role is None:
            continue
        h = out.get(name, NvaHealth())
        role = result.role.role
        since = (h.claimed_since or now) if role == "active" else None if role == "standby" else h.claimed_since
        out[name] = replace(h, role=role, role_detail=result.role.detail, claimed_since=since)
    return out


def claims(state: ClusterState, cluster: Cluster) -> list[str]:
    """The NVAs whose latest answer claims active."""
    return [n for n in cluster.names() if state.nva_health(n).role == "active"]


def lead(state: ClusterState, cluster: Cluster, results: Mapping[str, ProbeResult], now: datetime) -> Lead:
    """One run's appliance-led decision. Follows exactly one claim, by a healthy NVA that passed its health probe now;
    several claims: no move and one SplitBrain per episode; none: no move. A split episode ends only when every NVA that
    is up answers its role (an unanswered role probe never ends it: the silent one may still claim), and a claim older
    than the last manual failover is not followed (the operator's move stands until the appliances elect anew)."""
    names, active = cluster.names(), state.active
    if state.nva_health(active).healthy is False and not any(state.nva_health(n).healthy is True for n in names if n != active):
        if state.alarm == "no_healthy":
            return Lead(state, reason="no healthy NVA (raised already)")
        errors = {n: state.nva_health(n).last_error for n in names}
        return Lead(replace(state, alarm="no_healthy"), reason="active failed and no standby is healthy",
                    events=(Event("NoHealthyNva", {"active": active, "errors": errors}),))
    claimed = claims(state, cluster)
    if len(claimed) > 1:
        reason = f"split brain: {', '.join(claimed)} claim active; nothing moves"
        if state.alarm == SPLIT:
            return Lead(state, reason=reason + " (raised already)")
        return Lead(replace(state, alarm=SPLIT), reason=reason, events=(Event("SplitBrain", {"claims": claimed}),))
    if state.alarm == SPLIT and not all(_accounted(state, results, n) for n in names):
        silent = [n for n in names if not _accounted(state, results, n)]
        return Lead(state, reason=f"split brain: waiting for {', '.join(silent)} to answer its role")
    state = replace(state, alarm=None) if state.alarm else state
    if claimed and claimed[0] != active:
        held = _held(state, results, claimed[0])
        if held is None and state.paused:
            held = f"paused: would follow {claimed[0]}'s claim"
        if held is None:
            h = state.nva_health(claimed[0])
            reason = (f"appliance-led: {claimed[0]} claims active since {iso(h.claimed_since)} ({h.role_detail}); "
                      f"{active} answers {state.nva_health(active).role}")
            return Lead(state, to=claimed[0], reason=reason, claimed_at=h.claimed_since)
        reason = held
    else:
        reason = "appliances agree" if claimed else "no appliance claims active; nothing moves"
    policy = cluster.policy
    due = state.last_reconcile_at is None or now - state.last_reconcile_at >= timedelta(seconds=policy.reconcile_every_seconds)
    if due and not state.paused:
        return Lead(replace(state, last_reconcile_at=now), action="reconcile", reason=f"reconcile due ({reason})")
    return Lead(state, reason=reason)


def _held(state: ClusterState, results: Mapping[str, ProbeResult], claimant: str) -> str | None:
    """Why the claim of `claimant` is not followed this run, or None to follow it."""
    h = state.nva_health(claimant)
    probe = results.get(claimant)
    if h.healthy is not True or probe is None or not probe.ok:
        why = probe.error if probe is not None and not probe.ok else "not yet healthy"
        return f"{claimant} claims active but is not healthy ({why}): no move"
    last = state.last_failover
    if last is not None and last.trigger == "manual" and h.claimed_since is not None and h.claimed_since <= last.started_at:
        return (f"{claimant} claims active, but an operator moved Azure to {state.active} after that claim began; "
                "following the appliances again once they elect anew")
    return None


def _accounted(state: ClusterState, results: Mapping[str, ProbeResult], name: str) -> bool:
    """Its role is known this run (active or standby), or it is down (failed its health probe): nothing it might claim hides."""
    probe = results.get(name)
    return state.nva_health(name).role in ("active", "standby") or probe is None or not probe.ok
