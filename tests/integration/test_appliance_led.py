"""Appliance-led and controller-led on the production-shaped hub, with real NVA processes answering their HA role."""

from __future__ import annotations

import json
import logging

import pytest

from emulation.harness import ROLE_FORMS, role_probe
from tests.integration.rig import EventLog, Rig
from tests.integration.test_failover import assert_on

SECRET = "role-key-0f7c2d9e1b"


def roles(world: Rig, decider: str, form: str = "json", headers: dict[str, str] | None = None) -> None:
    """Give both NVAs a role probe of this form and choose the decider; fw-a is the appliances' active, fw-b standby."""
    for nva in world.hub.config["clusters"][0]["nvas"]:
        nva["role"] = role_probe(world.nvas[nva["name"]], form, headers)
    world.policy["decider"] = decider
    world.nvas["fw-a"].set_role("active")
    world.nvas["fw-b"].set_role("standby")


def steady(world: Rig, **extra: str):
    engine = world.engine(False, **extra)
    for _ in range(2):
        engine.probe_cycle()
    assert engine.status("hub-fw")["active"] == "fw-a"
    world.arm.control.clear_requests()
    return engine


def flip(world: Rig, active: str, standby: str) -> None:
    world.nvas[standby].set_role("standby")
    world.nvas[active].set_role("active")


@pytest.mark.parametrize("form", ROLE_FORMS)
def test_appliance_led_follows_a_role_flip_with_both_alive_in_one_run(world: Rig, events: EventLog, form: str) -> None:
    roles(world, "appliance", form)
    engine = steady(world)
    assert [n["role"] for n in engine.status("hub-fw")["nvas"]] == ["active", "standby"]
    flip(world, "fw-b", "fw-a")
    engine.probe_cycle()  # the first run after the flip: one schedule period at most
    assert_on(world, "fw-b", "10.0.2.5")
    status = engine.status("hub-fw")
    assert (status["active"], status["lastFailover"]["trigger"]) == ("fw-b", "auto")
    assert [n["role"] for n in status["nvas"]] == ["standby", "active"]
    started = events.named("FailoverStarted")
    assert len(started) == 1 and "appliance-led: fw-b claims active" in started[0]["reason"]
    record = engine.store.history("hub-fw")[0]
    assert "fw-b claims active since" in record["reason"] and "fw-a answers standby" in record["reason"]
    assert record["detectedAt"] is not None  # the claim's first sight
    world.arm.control.clear_requests()
    engine.probe_cycle()  # the appliances and Azure agree now: nothing more
    assert world.writes() == []


def test_controller_led_does_not_move_on_a_role_flip_and_says_they_disagree(world: Rig, events: EventLog) -> None:
    roles(world, "probes")
    engine = steady(world)
    flip(world, "fw-b", "fw-a")
    for _ in range(3):
        engine.probe_cycle()
    assert world.writes() == [] and events.named("FailoverStarted") == []
    status = engine.status("hub-fw")
    assert status["active"] == "fw-a" and [n["role"] for n in status["nvas"]] == ["standby", "active"]
    check = {c["name"]: c for c in engine.check("hub-fw")["checks"]}
    assert not check["roles"]["ok"]
    assert "fw-a is where Azure has the cluster but answers standby" in check["roles"]["detail"]
    assert "fw-b is a standby in Azure but claims active" in check["roles"]["detail"]


def test_two_claims_move_nothing_and_raise_one_split_brain(world: Rig, events: EventLog) -> None:
    roles(world, "appliance")
    engine = steady(world)
    world.nvas["fw-b"].set_role("active")
    for _ in range(4):
        engine.probe_cycle()
    assert world.writes() == []
    raised = events.named("SplitBrain")
    assert len(raised) == 1 and json.loads(raised[0]["claims"]) == ["fw-a", "fw-b"]
    assert engine.status("hub-fw")["active"] == "fw-a"


def test_no_claim_moves_nothing(world: Rig, events: EventLog) -> None:
    roles(world, "appliance")
    engine = steady(world)
    world.nvas["fw-a"].set_role("standby")
    for _ in range(3):
        engine.probe_cycle()
    assert world.writes() == [] and events.named("FailoverStarted") == []
    check = {c["name"]: c for c in engine.check("hub-fw")["checks"]}
    assert "fw-a is where Azure has the cluster but answers standby" in check["roles"]["detail"]


def test_a_claimant_failing_its_health_probe_is_not_followed(world: Rig, events: EventLog) -> None:
    roles(world, "appliance")
    engine = steady(world)
    world.nvas["fw-b"].set_mode("http503")  # its health answers 503, its role answers active
    flip(world, "fw-b", "fw-a")
    for _ in range(3):
        engine.probe_cycle()
    assert world.writes() == [] and events.named("FailoverStarted") == []
    nvas = {n["name"]: n for n in engine.status("hub-fw")["nvas"]}
    assert nvas["fw-b"]["role"] == "active" and nvas["fw-b"]["healthy"] is False
    world.nvas["fw-b"].set_mode("up")  # healthy again (two good runs): the claim is followed
    engine.probe_cycle()
    engine.probe_cycle()
    assert engine.status("hub-fw")["active"] == "fw-b"
    assert_on(world, "fw-b", "10.0.2.5")


def test_a_body_check_fails_a_200_with_the_wrong_body(world: Rig, events: EventLog) -> None:
    for nva in world.hub.config["clusters"][0]["nvas"]:
        nva["probe"]["expectBody"] = '"dataplane": "up"'
    engine = steady(world)
    world.nvas["fw-a"].set_mode("degraded")  # answers 200, but its body says the data plane is down
    engine.probe_cycle()
    engine.probe_cycle()
    changed = events.named("NvaHealthChanged")
    assert [(e["nva"], e["healthy"]) for e in changed][-1] == ("fw-a", False)
    assert changed[-1]["error"] == "HTTP 200 without the expected body text"
    assert_on(world, "fw-b", "10.0.2.5")


def test_a_slow_role_answer_is_unknown_and_readiness_says_so(world: Rig, events: EventLog) -> None:
    roles(world, "appliance")
    engine = steady(world)
    world.nvas["fw-b"].set_role("standby", delay=2.0)  # slower than the role's time (the probe's 0.5 s)
    for _ in range(2):
        engine.probe_cycle()
    assert world.writes() == []
    nvas = {n["name"]: n for n in engine.status("hub-fw")["nvas"]}
    assert nvas["fw-b"]["role"] == "unknown" and nvas["fw-b"]["healthy"] is True
    check = {c["name"]: c for c in engine.check("hub-fw")["checks"]}
    assert not check["roles"]["ok"] and "fw-b's role cannot be read (no answer within" in check["roles"]["detail"]
    flip(world, "fw-b", "fw-a")
    world.nvas["fw-b"].set_role("active", delay=0)
    engine.probe_cycle()
    assert engine.status("hub-fw")["active"] == "fw-b"


def test_a_header_from_a_setting_reaches_the_nva_and_appears_nowhere(world: Rig, events: EventLog,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    roles(world, "appliance", "text", headers={"X-Api-Key": "%FW_ROLE_KEY%"})
    for nva in world.nvas.values():
        nva.set_role(nva.status()["role"], header={"name": "X-Api-Key", "value": SECRET})
    engine = steady(world, FW_ROLE_KEY=SECRET)
    assert [n["role"] for n in engine.status("hub-fw")["nvas"]] == ["active", "standby"]  # a 401 would read standby
    flip(world, "fw-b", "fw-a")
    engine.probe_cycle()
    assert_on(world, "fw-b", "10.0.2.5")
    assert world.nvas["fw-b"].status()["authorized"] > 0 and world.nvas["fw-a"].status()["authorized"] > 0
    answers = [engine.status("hub-fw"), engine.statuses(), engine.check("hub-fw"), engine.store.history("hub-fw")]
    assert SECRET not in json.dumps(answers)
    assert not [r for r in events.records if SECRET in json.dumps(vars(r), default=str)]
    assert not [r for r in caplog.records if SECRET in r.getMessage() or SECRET in json.dumps(vars(r), default=str)]
    # without the setting the configuration is rejected, naming the field and the setting, and no value
    with pytest.raises(Exception, match=r"nvas\[0\]\.role\.headers\.X-Api-Key: the app setting FW_ROLE_KEY") as err:
        world.engine()
    assert SECRET not in str(err.value)
