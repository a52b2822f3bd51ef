"""The decision rules of contract §6 "Never stuck" and "Never worse", as tables: health, pause, journal, configuration."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from shared.domain.journal_rules import healthy_now, review
from shared.domain.placement import Placement, unread
from shared.domain.policy import ManualRequest, decide, decide_manual, initial_state
from shared.domain.state import ClusterState, Journal, NvaHealth
from shared.errors import Refused
from tests.unit.test_policy import BAD, DOWN, LEASE, NOW, OK, UP, cluster, state

BLIPPED = replace(UP, consecutive_failures=1, consecutive_successes=0, last_error="timed out")  # healthy, last probe failed
ON_A, ON_B = Placement("fw-a", "fw-a", ("fw-a",)), Placement("fw-b", "fw-b", ("fw-b",))


def journal(kind: str = "failover", to: str = "fw-b", trigger: str = "auto", owner: str = "gone", live: bool = False,
            force: bool = False, failures: int = 0, age: float = 10) -> Journal:
    until = NOW + timedelta(seconds=2) if live else NOW - timedelta(seconds=1)
    return Journal(kind, 1, "fw-a" if kind == "failover" else to, to, trigger, "x", NOW - timedelta(seconds=age),  # type: ignore[arg-type]
                   owner, until, force=force, failures=failures)


def in_flight(health: dict[str, NvaHealth], j: Journal, paused: bool = False, active: str = "fw-a") -> ClusterState:
    return replace(state(health, active), phase="failing_over", epoch=1, journal=j, paused=paused)


# ------------------------------------------------------------------------------------------ a change in flight
@pytest.mark.parametrize(
    ("name", "health", "probes", "j", "paused", "action", "target", "events"),
    [
        ("target healthy: resumed", {"fw-a": DOWN, "fw-b": UP}, {"fw-a": BAD, "fw-b": OK}, journal(), False,
         "resume", "fw-b", []),
        ("failover target died, every NVA down: abandoned, NoHealthyNva", {"fw-a": DOWN, "fw-b": DOWN},
         {"fw-a": BAD, "fw-b": BAD}, journal(), False, "none", None, ["FailoverAbandoned", "NoHealthyNva"]),
        ("repair toward a dead active: abandoned, failover to the healthy standby", {"fw-a": DOWN, "fw-b": UP},
         {"fw-a": BAD, "fw-b": OK}, journal("repair", "fw-a"), False, "failover", "fw-b", ["FailoverAbandoned"]),
        ("target's latest probe failed: abandoned", {"fw-a": UP, "fw-b": BLIPPED}, {"fw-a": OK, "fw-b": BAD},
         journal(), False, "none", None, ["FailoverAbandoned"]),
        ("target no longer configured: abandoned", {"fw-a": UP, "fw-b": UP}, {"fw-a": OK, "fw-b": OK},
         journal(to="fw-z"), False, "none", None, ["FailoverAbandoned"]),
        ("paused, automatic change: abandoned, nothing starts", {"fw-a": DOWN, "fw-b": UP}, {"fw-a": BAD, "fw-b": OK},
         journal(), True, "none", None, ["FailoverAbandoned"]),
        ("paused, an operator's change: resumed", {"fw-a": UP, "fw-b": UP}, {"fw-a": OK, "fw-b": OK},
         journal(trigger="manual"), True, "resume", "fw-b", []),
        ("forced toward an unhealthy target: resumed", {"fw-a": UP, "fw-b": DOWN}, {"fw-a": OK, "fw-b": BAD},
         journal(trigger="manual", force=True), False, "resume", "fw-b", []),
        ("failing, young: resumed", {"fw-a": DOWN, "fw-b": UP}, {"fw-a": BAD, "fw-b": OK}, journal(failures=3, age=60),
         False, "resume", "fw-b", []),
        ("failing past reconcileEverySeconds: abandoned", {"fw-a": UP, "fw-b": UP}, {"fw-a": OK, "fw-b": OK},
         journal("repair", "fw-a", failures=3, age=400), False, "none", None, ["FailoverAbandoned"]),
        ("old but never failed (slow Azure): resumed", {"fw-a": DOWN, "fw-b": UP}, {"fw-a": BAD, "fw-b": OK},
         journal(age=400), False, "resume", "fw-b", []),
    ],
)
def test_a_change_in_flight_never_outranks_health(name: str, health: dict[str, NvaHealth], probes: dict, j: Journal,
                                                  paused: bool, action: str, target: str | None, events: list[str]) -> None:
    s = in_flight(health, j, paused)
    c = cluster(reconcileEverySeconds=300)
    first = decide(probes, s, c, NOW, "me", LEASE)
    abandoning = "FailoverAbandoned" in events
    assert first.action == ("place" if abandoning else action), name  # giving up reads where Azure has the cluster first
    plan = decide(probes, s, c, NOW, "me", LEASE, placed=ON_A) if abandoning else first
    assert plan.action == action, name
    assert plan.target == target, name
    assert [e.name for e in plan.events if e.name != "NvaHealthChanged"] == events, name
    if abandoning:
        given_up = next(e for e in plan.events if e.name == "FailoverAbandoned").fields
        assert given_up["epoch"] == 1 and given_up["to"] == j.to_nva and given_up["reason"], name
        assert plan.state.epoch == (2 if action == "failover" else 1), "the abandoned epoch is spent"
        if action == "none":
            assert plan.state.phase == "steady" and plan.state.journal is None


def test_a_live_holders_change_is_never_judged_by_this_run() -> None:
    s = in_flight({"fw-a": DOWN, "fw-b": DOWN}, journal(owner="other", live=True))
    plan = decide({"fw-a": BAD, "fw-b": BAD}, s, cluster(), NOW, "me", LEASE)
    assert (plan.action, plan.record) == ("none", False)


@pytest.mark.parametrize(
    ("placed", "active"),
    [(ON_B, "fw-b"), (Placement(None, "fw-b", ("fw-a", "fw-b")), "fw-b"), (Placement(None, None, ()), "fw-a")],
)
def test_an_abandoned_change_leaves_the_cluster_where_azure_has_it(placed: Placement, active: str) -> None:
    s = in_flight({"fw-a": UP, "fw-b": DOWN}, journal())
    plan = decide({"fw-a": OK, "fw-b": BAD}, s, cluster(), NOW, "me", LEASE, placed=placed)
    assert plan.state.active == active
    if active == "fw-b":  # the traffic Azure has on the dead fw-b is moved to the healthy fw-a in the same run
        assert (plan.action, plan.target, plan.state.epoch) == ("failover", "fw-a", 2)
    else:
        assert plan.action == "none" and plan.state.journal is None


def test_a_change_that_kept_failing_waits_a_period_before_drift_repair_tries_again() -> None:
    s = in_flight({"fw-a": UP, "fw-b": UP}, journal("repair", "fw-a", failures=2, age=301))
    c = cluster(reconcileEverySeconds=300)
    plan = decide({"fw-a": OK, "fw-b": OK}, s, c, NOW, "me", LEASE, placed=ON_A)
    assert plan.state.last_reconcile_at == NOW and plan.action == "none"
    later = decide({"fw-a": OK, "fw-b": OK}, plan.state, c, NOW + timedelta(seconds=301), "me", LEASE)
    assert later.action == "reconcile"


# ------------------------------------------------------------------------------------------ first sight, configuration
@pytest.mark.parametrize(
    ("placed", "health", "active", "events"),
    [
        (ON_B, {"fw-a": DOWN, "fw-b": UP}, "fw-b", ["ClusterPlaced"]),  # Azure has it on fw-b: no move back to preferred
        (ON_B, {"fw-a": UP, "fw-b": UP}, "fw-b", ["ClusterPlaced"]),  # failback never: no unrequested failback
        (Placement(None, "fw-b", ("fw-a", "fw-b")), {"fw-a": UP, "fw-b": UP}, "fw-a", ["ClusterPlaced"]),  # several
        (Placement(None, None, ()), {"fw-a": UP, "fw-b": UP}, "fw-a", ["ClusterPlaced"]),  # nowhere: preferred
        (unread("403"), {"fw-a": UP, "fw-b": UP}, "fw-a", []),  # unread: kept unplaced, tried again next run
    ],
)
def test_first_sight_places_the_cluster_where_azure_has_it_and_writes_nothing(
        placed: Placement, health: dict[str, NvaHealth], active: str, events: list[str]) -> None:
    c = cluster()
    fresh = replace(initial_state(c), health=health)
    assert decide({"fw-a": OK, "fw-b": OK}, fresh, c, NOW, "me", LEASE).action == "place"
    plan = decide({"fw-a": OK, "fw-b": OK}, fresh, c, NOW, "me", LEASE, placed=placed)
    # Readiness at once (assess: a reconcile that may not repair), no journal; nothing at all while Azure cannot answer.
    assert plan.action == ("none" if placed.error else "assess") and plan.state.journal is None
    assert plan.state.active == active
    assert [e.name for e in plan.events] == events
    assert plan.state.unplaced is (placed.error is not None)
    if not plan.state.unplaced:
        follow = decide({"fw-a": OK, "fw-b": OK}, plan.state, c, NOW, "me", LEASE)
        assert follow.action == "none", "decided as usual once placed: the reconcile is a period away"
        later = decide({"fw-a": OK, "fw-b": OK}, plan.state, c, NOW + timedelta(hours=1), "me", LEASE)
        assert later.action == "reconcile"


def test_a_renamed_active_is_placed_and_its_stale_health_dropped() -> None:
    c = cluster()
    s = state({"fw-old": UP, "fw-a": DOWN, "fw-b": UP}, active="fw-old")
    assert decide({"fw-a": BAD, "fw-b": OK}, s, c, NOW, "me", LEASE).action == "place"
    plan = decide({"fw-a": BAD, "fw-b": OK}, s, c, NOW, "me", LEASE, placed=ON_A)
    assert plan.state.active == "fw-a" and "fw-old" not in plan.state.health
    follow = decide({"fw-a": BAD, "fw-b": OK}, plan.state, c, NOW, "me", LEASE)
    assert (follow.action, follow.target) == ("failover", "fw-b"), "its death is acted on"


def test_a_standby_whose_latest_probe_failed_is_no_target() -> None:
    s = state({"fw-a": DOWN, "fw-b": BLIPPED})
    plan = decide({"fw-a": BAD, "fw-b": BAD}, s, cluster(unhealthyThreshold=3), NOW, "me", LEASE)
    assert plan.action == "none" and [e.name for e in plan.events] == ["NoHealthyNva"]
    assert not healthy_now(BLIPPED) and healthy_now(UP)


# ------------------------------------------------------------------------------------------ operators
def test_force_supersedes_a_live_change() -> None:
    s = in_flight({"fw-a": UP, "fw-b": UP}, journal("repair", "fw-a", owner="other", live=True))
    plan = decide_manual(s, cluster(), ManualRequest(target="fw-b", force=True), NOW, "me", LEASE)
    assert (plan.action, plan.target, plan.state.epoch) == ("failover", "fw-b", 2)
    assert [e.name for e in plan.events] == ["FailoverAbandoned"]
    assert plan.events[0].fields["reason"] == "superseded by a forced manual failover"


def test_a_request_supersedes_a_change_that_is_to_be_given_up() -> None:
    s = in_flight({"fw-a": DOWN, "fw-b": UP}, journal("repair", "fw-a"))
    plan = decide_manual(s, cluster(), ManualRequest(), NOW, "me", LEASE)
    assert (plan.action, plan.target) == ("failover", "fw-b")
    assert [e.name for e in plan.events] == ["FailoverAbandoned"]


def test_a_live_change_that_may_go_on_still_refuses_another_target() -> None:
    s = in_flight({"fw-a": DOWN, "fw-b": UP}, journal(owner="other", live=True))
    with pytest.raises(Refused) as err:
        decide_manual(s, cluster(), ManualRequest(target="fw-a"), NOW, "me", LEASE)
    assert err.value.code == "FailoverInProgress"


@pytest.mark.parametrize(("force", "outcome"), [(False, "TargetUnhealthy"), (True, "repair")])
def test_a_manual_repair_toward_an_unhealthy_active_needs_force(force: bool, outcome: str) -> None:
    s = state({"fw-a": DOWN, "fw-b": UP})
    if outcome == "TargetUnhealthy":
        with pytest.raises(Refused) as err:
            decide_manual(s, cluster(), ManualRequest(target="fw-a"), NOW, "me", LEASE)
        assert err.value.code == outcome
    else:
        assert decide_manual(s, cluster(), ManualRequest(target="fw-a", force=True), NOW, "me", LEASE).action == outcome


def test_review_names_why() -> None:
    c = cluster(reconcileEverySeconds=300)
    assert review(in_flight({"fw-b": UP}, journal()), c, NOW) is None
    assert "no longer configured" in (review(in_flight({}, journal(to="fw-z")), c, NOW) or "")
    assert "not healthy now" in (review(in_flight({"fw-b": DOWN}, journal()), c, NOW) or "")
    assert "paused" in (review(in_flight({"fw-b": UP}, journal(), paused=True), c, NOW) or "")
    assert "kept failing" in (review(in_flight({"fw-b": UP}, journal(failures=1, age=300)), c, NOW) or "")


def test_while_azure_cannot_say_where_the_cluster_is_only_a_failover_to_a_healthy_nva_moves() -> None:
    c = cluster(failback="preferred", failbackAfterSeconds=0, holdDownSeconds=0)
    stand_in = replace(initial_state(c), health={"fw-a": DOWN, "fw-b": UP})
    plan = decide({"fw-a": BAD, "fw-b": OK}, stand_in, c, NOW, "me", LEASE, placed=unread("403"))
    assert plan.state.unplaced and plan.state.last_reconcile_at == NOW  # placing is tried again a little later, not every run
    assert (plan.action, plan.target) == ("failover", "fw-b"), "a failover away from a failed NVA still happens"
    soon = NOW + timedelta(seconds=5)
    healthy = replace(plan.state, phase="steady", journal=None, active="fw-b", health={"fw-a": UP, "fw-b": UP},
                      last_reconcile_at=NOW)
    later = decide({"fw-a": OK, "fw-b": OK}, healthy, c, soon, "me", LEASE)
    assert later.action == "none", "no failback toward the stand-in's preferred while unplaced"
    placed_now = decide({"fw-a": OK, "fw-b": OK}, replace(healthy, unplaced=False), c, soon, "me", LEASE)
    assert (placed_now.action, placed_now.target) == ("failover", "fw-a"), "the same state placed fails back"
