"""Appliance-led decisions (decider appliance), pure: follow one healthy claim at once, never a split one, nothing without."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from emulation.topology import NvaSpec, hub
from shared.domain.config import parse_config
from shared.domain.observations import ProbeResult, RoleAnswer
from shared.domain.policy import ManualRequest, decide, decide_manual
from shared.domain.state import ClusterState, FailoverRecord, NvaHealth

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=2.5)
UP = NvaHealth(healthy=True, consecutive_successes=5, healthy_since=NOW - timedelta(hours=1))
ROLE = {"protocol": "http", "address": "127.0.0.1", "port": 80, "path": "/role.json",
        "activeWhen": {"json": {"pointer": "/ha/state", "equals": "active"}}}


def cluster(decider: str = "appliance", nvas: int = 2, **policy: object):
    specs = [NvaSpec(f"fw-{chr(97 + i)}", {"untrust": f"10.0.1.{4 + i}", "trust": f"10.0.2.{4 + i}"},
                     {"protocol": "tcp", "address": f"127.0.0.{11 + i}", "port": 22}) for i in range(nvas)]
    config = hub(specs).config
    config["clusters"][0]["policy"] = {"decider": decider, **policy}
    for nva in config["clusters"][0]["nvas"]:
        nva["role"] = ROLE
    return parse_config(config).clusters[0]


def state(active: str = "fw-a", /, **health: NvaHealth) -> ClusterState:
    return ClusterState(name="hub-fw", active=active, health={"fw-a": UP, "fw-b": UP, **health}, last_reconcile_at=NOW, etag="e1")


def seen(ok: bool = True, role: str = "standby", error: str | None = None) -> ProbeResult:
    return ProbeResult(ok, None if ok else (error or "connection refused"), role=RoleAnswer(role, f"said {role}"))  # type: ignore[arg-type]


def run(c, s: ClusterState, now: datetime = NOW, /, **results: ProbeResult):
    return decide(results, s, c, now, "me", LEASE)


def test_a_claim_by_a_healthy_standby_fails_over_to_it_in_that_run() -> None:
    plan = run(cluster(), state(), **{"fw-a": seen(role="standby"), "fw-b": seen(role="active")})
    assert (plan.action, plan.target) == ("failover", "fw-b")
    assert plan.state.journal is not None and plan.state.journal.trigger == "auto"
    assert plan.state.journal.detected_at == NOW  # the claim's first sight: the history's detectedAt
    assert "fw-b claims active" in plan.reason and "said active" in plan.reason


def test_controller_led_records_the_roles_but_does_not_follow_them() -> None:
    plan = run(cluster("probes"), state(), **{"fw-a": seen(role="standby"), "fw-b": seen(role="active")})
    assert plan.action == "none"
    assert plan.state.nva_health("fw-b").role == "active" and plan.state.nva_health("fw-a").role == "standby"


def test_the_claim_of_the_nva_azure_already_has_moves_nothing() -> None:
    plan = run(cluster(), state(), **{"fw-a": seen(role="active"), "fw-b": seen(role="standby")})
    assert plan.action == "none" and plan.reason == "appliances agree"


def test_no_claim_no_move_even_with_the_active_failing() -> None:
    failing = replace(UP, healthy=False, consecutive_failures=3)
    plan = run(cluster(), state(**{"fw-a": failing}), **{"fw-a": seen(False, "unknown"), "fw-b": seen(role="standby")})
    assert plan.action == "none" and "no appliance claims" in plan.reason


@pytest.mark.parametrize("why", ["probe failed now", "not healthy yet"])
def test_a_claimant_that_is_not_healthy_is_not_followed(why: str) -> None:
    if why == "probe failed now":  # still counted healthy (one failure is below the threshold), but it failed this run
        plan = run(cluster(), state(), **{"fw-a": seen(role="standby"), "fw-b": seen(False, "active", "HTTP 503")})
    else:
        plan = run(cluster(), state(**{"fw-b": NvaHealth()}), **{"fw-a": seen(role="standby"), "fw-b": seen(role="active")})
    assert plan.action == "none" and "is not healthy" in plan.reason


def test_split_brain_moves_nothing_and_is_raised_once_per_episode() -> None:
    c, s = cluster(), state("fw-a")
    both = {"fw-a": seen(role="active"), "fw-b": seen(role="active")}
    raised = []
    for i in range(3):
        plan = run(c, s, NOW + timedelta(seconds=5 * i), **both)
        assert plan.action == "none"
        raised += [e for e in plan.events if e.name == "SplitBrain"]
        s = plan.state
    assert [e.fields["claims"] for e in raised] == [["fw-a", "fw-b"]]
    # fw-a's role probe is lost while fw-b still claims: the episode is not over, nothing moves
    plan = run(c, s, NOW + timedelta(seconds=20), **{"fw-a": seen(role="unknown"), "fw-b": seen(role="active")})
    assert plan.action == "none" and "waiting for fw-a to answer" in plan.reason
    # fw-a answers standby: the episode ends, fw-b's claim is followed
    plan = run(c, plan.state, NOW + timedelta(seconds=25), **{"fw-a": seen(role="standby"), "fw-b": seen(role="active")})
    assert (plan.action, plan.target) == ("failover", "fw-b")
    # a new split later is a new episode: raised again
    again = run(c, replace(plan.state, phase="steady", journal=None, active="fw-b"), NOW + timedelta(seconds=60), **both)
    assert [e.name for e in again.events] == ["SplitBrain"]


def test_outside_a_split_an_unanswered_role_does_not_hold_a_single_claim_back() -> None:
    plan = run(cluster(), state(), **{"fw-a": seen(role="unknown"), "fw-b": seen(role="active")})
    assert (plan.action, plan.target) == ("failover", "fw-b")  # exactly one claims: followed in this run


def test_a_dead_active_does_not_hold_the_claim_back() -> None:
    plan = run(cluster(), state(), **{"fw-a": seen(False, "unknown"), "fw-b": seen(role="active")})
    assert (plan.action, plan.target) == ("failover", "fw-b")


def test_the_claim_start_survives_an_unanswered_role_probe_and_ends_at_standby() -> None:
    c = cluster(nvas=3)
    s = state(**{"fw-c": UP})
    s = run(c, s, **{"fw-a": seen(role="active"), "fw-b": seen(role="standby"), "fw-c": seen(role="active")}).state
    s = run(c, s, NOW + timedelta(seconds=5), **{"fw-a": seen(role="active"), "fw-b": seen(role="standby"),
                                                 "fw-c": seen(role="unknown")}).state
    assert s.nva_health("fw-c").claimed_since == NOW
    s = run(c, s, NOW + timedelta(seconds=10), **{"fw-a": seen(role="active"), "fw-b": seen(role="standby"),
                                                  "fw-c": seen(role="standby")}).state
    assert s.nva_health("fw-c").claimed_since is None


def test_paused_follows_nothing() -> None:
    plan = run(cluster(), replace(state(), paused=True), **{"fw-a": seen(role="standby"), "fw-b": seen(role="active")})
    assert plan.action == "none" and "paused" in plan.reason


def test_failback_and_hold_down_do_not_apply() -> None:
    c = cluster(failback="preferred", failbackAfterSeconds=0, holdDownSeconds=3600)
    recent = replace(state("fw-b"), last_failover_at=NOW - timedelta(seconds=1))
    plan = run(c, recent, **{"fw-a": seen(role="standby"), "fw-b": seen(role="active")})
    assert plan.action == "none"  # no failback to preferred fw-a: the appliances have fw-b
    plan = run(c, recent, **{"fw-a": seen(role="active"), "fw-b": seen(role="standby")})
    assert (plan.action, plan.target) == ("failover", "fw-a")  # hold-down does not delay following a claim


def test_every_nva_down_raises_no_healthy_nva_once() -> None:
    down = replace(UP, healthy=False, consecutive_failures=3)
    s = state(**{"fw-a": down, "fw-b": down})
    plan = run(cluster(), s, **{"fw-a": seen(False, "unknown"), "fw-b": seen(False, "unknown")})
    assert [e.name for e in plan.events] == ["NoHealthyNva"]
    plan = run(cluster(), plan.state, **{"fw-a": seen(False, "unknown"), "fw-b": seen(False, "unknown")})
    assert plan.events == ()


def test_a_manual_failover_stands_until_the_appliances_elect_anew() -> None:
    c = cluster()
    s = run(c, state(), **{"fw-a": seen(role="standby"), "fw-b": seen(role="active")}).state  # fw-b claims at NOW
    manual = decide_manual(replace(s, phase="steady", journal=None), c, ManualRequest(target="fw-a"), NOW, "op", LEASE)
    assert manual.target == "fw-a"  # manual failover still works against the appliances' claim
    done = replace(s, phase="steady", journal=None, active="fw-a", last_failover=FailoverRecord(
        1, "fw-b", "fw-a", "manual", "operator", NOW + timedelta(seconds=1), NOW + timedelta(seconds=3), 2000))
    later = NOW + timedelta(seconds=10)
    plan = run(c, done, later, **{"fw-a": seen(role="standby"), "fw-b": seen(role="active")})
    assert plan.action == "none" and "operator moved Azure" in plan.reason
    s = run(c, plan.state, later, **{"fw-a": seen(role="active"), "fw-b": seen(role="standby")}).state
    plan = run(c, s, later + timedelta(seconds=5), **{"fw-a": seen(role="standby"), "fw-b": seen(role="active")})
    assert (plan.action, plan.target) == ("failover", "fw-b")  # a new election is followed again


def test_roles_survive_the_stored_state_and_old_states_still_load() -> None:
    from shared.adapters.entities import from_entity, to_entity

    s = run(cluster(), state(), **{"fw-a": seen(role="standby"), "fw-b": seen(role="active")}).state
    back = from_entity(to_entity(replace(s, journal=None, phase="steady")), "e2")
    assert back.nva_health("fw-b").role == "active" and back.nva_health("fw-b").claimed_since == NOW
    old = to_entity(state())
    old["health"] = '{"fw-a": {"healthy": true, "consecutive_failures": 0, "consecutive_successes": 3, ' \
                    '"last_probe_at": null, "last_error": null, "healthy_since": null}}'
    assert from_entity(old, "e3").nva_health("fw-a").role is None
