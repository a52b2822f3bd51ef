"""The pure policy, as tables of cases: thresholds, failover, no healthy NVA, failback, pause, manual, force, dry run."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from emulation.topology import NvaSpec, hub
from shared.domain.config import parse_config
from shared.domain.observations import ProbeResult
from shared.domain.policy import ManualRequest, decide, decide_manual, initial_state, observe
from shared.domain.state import ClusterState, Journal, NvaHealth
from shared.edge.engine import answered
from shared.errors import Refused

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=15)
OK, BAD = ProbeResult(True), ProbeResult(False, "connection refused")
UP = NvaHealth(healthy=True, consecutive_successes=5, healthy_since=NOW - timedelta(hours=1))
DOWN = NvaHealth(healthy=False, consecutive_failures=5, last_error="connection refused")


def cluster(nvas: int = 2, **policy: object):
    specs = [NvaSpec(f"fw-{chr(97 + i)}", {"untrust": f"10.0.1.{4 + i}", "trust": f"10.0.2.{4 + i}"},
                     {"protocol": "tcp", "address": f"127.0.0.{11 + i}", "port": 22}) for i in range(nvas)]
    config = hub(specs).config
    config["clusters"][0]["policy"] = policy
    return parse_config(config).clusters[0]


def state(health: dict[str, NvaHealth], active: str = "fw-a") -> ClusterState:
    return ClusterState(name="hub-fw", active=active, health=health, last_reconcile_at=NOW, etag="e1")


# -------------------------------------------------------------------------------------------- thresholds
@pytest.mark.parametrize(
    ("start", "results", "threshold", "healthy", "changed"),
    [
        (NvaHealth(), [OK], 2, None, False),  # one good probe is not enough
        (NvaHealth(), [OK, OK], 2, True, True),
        (NvaHealth(), [BAD, BAD], 2, False, True),
        (UP, [BAD], 2, True, False),  # one bad probe is not a failure
        (UP, [BAD, BAD], 2, False, True),
        (UP, [BAD, OK, BAD], 2, True, False),  # a good probe resets the run
        (DOWN, [OK], 1, True, True),
        (DOWN, [OK, OK, OK], 3, True, True),
        (DOWN, [OK, OK], 3, False, False),
    ],
)
def test_thresholds(start: NvaHealth, results: list[ProbeResult], threshold: int, healthy: bool | None, changed: bool) -> None:
    policy = cluster(unhealthyThreshold=threshold, healthyThreshold=threshold).policy
    health, events = {"fw-a": start}, []
    for result in results:
        health, new = observe(health, {"fw-a": result}, policy, NOW)
        events += new
    assert health["fw-a"].healthy is healthy
    assert bool(events) is changed
    if events:
        assert events[-1].name == "NvaHealthChanged" and events[-1].fields["healthy"] is healthy


# -------------------------------------------------------------------------------------------- the timer's decision
@pytest.mark.parametrize(
    ("name", "health", "probes", "paused", "action", "target", "events"),
    [
        ("steady", {"fw-a": UP, "fw-b": UP}, {"fw-a": OK, "fw-b": OK}, False, "none", None, []),
        ("active fails, standby healthy", {"fw-a": replace(UP, consecutive_failures=1, consecutive_successes=0), "fw-b": UP},
         {"fw-a": BAD, "fw-b": OK}, False, "failover", "fw-b", ["NvaHealthChanged"]),
        ("active failed already", {"fw-a": DOWN, "fw-b": UP}, {"fw-a": BAD, "fw-b": OK}, False, "failover", "fw-b", []),
        ("standby not yet proven", {"fw-a": DOWN, "fw-b": NvaHealth()}, {"fw-a": BAD, "fw-b": OK}, False, "none", None,
         ["NoHealthyNva"]),
        ("every NVA down", {"fw-a": DOWN, "fw-b": DOWN}, {"fw-a": BAD, "fw-b": BAD}, False, "none", None, ["NoHealthyNva"]),
        ("standby down only", {"fw-a": UP, "fw-b": DOWN}, {"fw-a": OK, "fw-b": BAD}, False, "none", None, []),
        ("paused: health recorded, no move", {"fw-a": DOWN, "fw-b": UP}, {"fw-a": BAD, "fw-b": OK}, True, "none", None, []),
        ("paused, all down: still alerts", {"fw-a": DOWN, "fw-b": DOWN}, {"fw-a": BAD, "fw-b": BAD}, True, "none", None,
         ["NoHealthyNva"]),
    ],
)
def test_decide(name: str, health: dict[str, NvaHealth], probes: dict[str, ProbeResult], paused: bool, action: str,
                target: str | None, events: list[str]) -> None:
    plan = decide(probes, replace(state(health), paused=paused), cluster(), NOW, "me", LEASE)
    assert plan.action == action, name
    assert plan.target == target, name
    assert [e.name for e in plan.events] == events, name
    assert plan.state.paused is paused
    if action == "failover":
        assert plan.state.phase == "failing_over" and plan.state.epoch == 1
        assert plan.state.journal is not None and plan.state.journal.lease_owner == "me"
        assert plan.state.journal.trigger == "auto"


def test_no_healthy_nva_is_raised_once_then_cleared() -> None:
    c = cluster()
    s = state({"fw-a": DOWN, "fw-b": DOWN})
    first = decide({"fw-a": BAD, "fw-b": BAD}, s, c, NOW, "me", LEASE)
    second = decide({"fw-a": BAD, "fw-b": BAD}, first.state, c, NOW, "me", LEASE)
    assert [e.name for e in first.events] == ["NoHealthyNva"] and second.events == ()
    recovered = decide({"fw-a": OK, "fw-b": OK}, replace(second.state, health={"fw-a": UP, "fw-b": UP}), c, NOW, "me", LEASE)
    assert first.state.alarm == "no_healthy" and recovered.state.alarm is None


def test_healthiest_standby_wins() -> None:
    c = cluster(nvas=3)
    s = state({"fw-a": DOWN, "fw-b": replace(UP, consecutive_successes=3), "fw-c": replace(UP, consecutive_successes=9)})
    assert decide({"fw-a": BAD, "fw-b": OK, "fw-c": OK}, s, c, NOW, "me", LEASE).target == "fw-c"


@pytest.mark.parametrize(
    ("failback", "healthy_for", "since_failover", "action"),
    [
        ("never", 10_000, 10_000, "none"),
        ("preferred", 10_000, 10_000, "failover"),
        ("preferred", 100, 10_000, "none"),  # not healthy for failbackAfterSeconds yet
        ("preferred", 10_000, 100, "none"),  # hold-down since the last failover
    ],
)
def test_failback(failback: str, healthy_for: int, since_failover: int, action: str) -> None:
    c = cluster(failback=failback, failbackAfterSeconds=600, holdDownSeconds=300)
    pref = replace(UP, healthy_since=NOW - timedelta(seconds=healthy_for))
    s = replace(state({"fw-a": pref, "fw-b": UP}, "fw-b"), last_failover_at=NOW - timedelta(seconds=since_failover))
    plan = decide({"fw-a": OK, "fw-b": OK}, s, c, NOW, "me", LEASE)
    assert plan.action == action
    if action == "failover":
        assert plan.target == "fw-a" and "failback" in plan.reason


def test_hold_down_never_delays_a_failover_away_from_a_failed_active() -> None:
    c = cluster(holdDownSeconds=3600)
    s = replace(state({"fw-a": DOWN, "fw-b": UP}), last_failover_at=NOW - timedelta(seconds=1))
    assert decide({"fw-a": BAD, "fw-b": OK}, s, c, NOW, "me", LEASE).action == "failover"


@pytest.mark.parametrize(
    ("lease_until", "owner", "action"),
    [
        (NOW + timedelta(seconds=5), "someone-else", "none"),  # live lease of another actor: leave it
        (NOW - timedelta(seconds=1), "someone-else", "resume"),  # lapsed: take it over
        (NOW + timedelta(seconds=5), "me", "resume"),
    ],
)
def test_failover_in_flight(lease_until: datetime, owner: str, action: str) -> None:
    journal = Journal("failover", 1, "fw-a", "fw-b", "auto", "x", NOW, owner, lease_until)
    s = replace(state({"fw-a": DOWN, "fw-b": UP}), phase="failing_over", epoch=1, journal=journal)
    plan = decide({"fw-a": BAD, "fw-b": OK}, s, cluster(), NOW, "me", LEASE)
    assert plan.action == action
    assert plan.state.epoch == 1  # resuming never takes a new epoch
    if action == "resume":
        assert plan.state.journal is not None and plan.state.journal.lease_owner == "me"


@pytest.mark.parametrize(
    ("reconciled_ago", "paused", "action"),
    [(None, False, "reconcile"), (10, False, "none"), (301, False, "reconcile"), (301, True, "none")],
)
def test_reconcile_due(reconciled_ago: int | None, paused: bool, action: str) -> None:
    last = None if reconciled_ago is None else NOW - timedelta(seconds=reconciled_ago)
    s = replace(state({"fw-a": UP, "fw-b": UP}), last_reconcile_at=last, paused=paused)
    plan = decide({"fw-a": OK, "fw-b": OK}, s, cluster(reconcileEverySeconds=300), NOW, "me", LEASE)
    assert plan.action == action


# -------------------------------------------------------------------------------------------- manual failovers
@pytest.mark.parametrize(
    ("request_", "health", "paused", "outcome"),
    [
        (ManualRequest(), {"fw-a": UP, "fw-b": UP}, False, ("failover", "fw-b")),
        (ManualRequest(target="fw-b"), {"fw-a": UP, "fw-b": UP}, True, ("failover", "fw-b")),  # pause allows manual
        (ManualRequest(target="fw-a"), {"fw-a": UP, "fw-b": UP}, False, ("repair", "fw-a")),
        (ManualRequest(target="fw-z"), {"fw-a": UP, "fw-b": UP}, False, (404, "NvaNotFound")),
        (ManualRequest(target="fw-b"), {"fw-a": UP, "fw-b": DOWN}, False, (409, "TargetUnhealthy")),
        (ManualRequest(target="fw-b", force=True), {"fw-a": UP, "fw-b": DOWN}, False, ("failover", "fw-b")),
        (ManualRequest(), {"fw-a": UP, "fw-b": DOWN}, False, (409, "NoHealthyTarget")),
        (ManualRequest(force=True), {"fw-a": UP, "fw-b": NvaHealth()}, False, (409, "NoHealthyTarget")),
        (ManualRequest(dry_run=True), {"fw-a": UP, "fw-b": UP}, False, ("failover", "fw-b")),
    ],
)
def test_manual(request_: ManualRequest, health: dict[str, NvaHealth], paused: bool, outcome: tuple[object, str]) -> None:
    s = replace(state(health), paused=paused)
    if isinstance(outcome[0], int):
        with pytest.raises(Refused) as err:
            decide_manual(s, cluster(), request_, NOW, "me", LEASE)
        assert (answered(err.value).status, err.value.code) == outcome  # the edge answers the domain's refusal in HTTP
        return
    plan = decide_manual(s, cluster(), request_, NOW, "me", LEASE)
    assert (plan.action, plan.target) == outcome
    assert plan.state.journal is not None and plan.state.journal.trigger == "manual"
    assert plan.state.epoch == (1 if plan.action == "failover" else 0)
    assert plan.state.journal.force is request_.force


def test_manual_during_a_live_failover_is_refused() -> None:
    journal = Journal("failover", 1, "fw-a", "fw-b", "auto", "x", NOW, "other", NOW + timedelta(seconds=5))
    s = replace(state({"fw-a": UP, "fw-b": UP}), phase="failing_over", epoch=1, journal=journal)
    with pytest.raises(Refused) as err:
        decide_manual(s, cluster(), ManualRequest(target="fw-b"), NOW, "me", LEASE)
    assert (answered(err.value).status, err.value.code) == (409, "FailoverInProgress")


def test_initial_state_starts_on_preferred() -> None:
    assert initial_state(cluster()).active == "fw-a"
    assert initial_state(cluster().model_copy(update={"preferred": "fw-b"})).active == "fw-b"
