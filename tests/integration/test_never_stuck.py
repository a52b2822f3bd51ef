"""The bad day's decisions on the production-shaped hub (contract §6 "Never stuck", "Never worse"): a change in flight
never outranks health, a cluster first seen is placed from Azure, a renamed NVA is no error, a queued change nobody
consumes is carried out, a public IP on a foreign NIC is never taken."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from emulation.topology import _nic
from shared.control.executor import UNCLAIMED
from shared.domain.policy import ManualRequest
from shared.domain.state import ClusterState, Journal
from tests.integration.rig import EventLog, Rig
from tests.integration.test_executor import queued
from tests.integration.test_failover import FAILOVER_WRITES, assert_on, settle, written


def _state(world: Rig) -> ClusterState:
    engine = world.engine()
    state = engine.store.load("hub-fw")
    assert state is not None
    return state


def _untrust(nva: str) -> str:
    return f"{nva}-untrust"


def _detach_public_ip(world: Rig, nva: str) -> None:
    """Someone takes the cluster's public IP off `nva`'s untrust NIC (it is then on no NIC)."""
    def change(body: dict[str, Any]) -> None:
        body["properties"]["ipConfigurations"][0]["properties"].pop("publicIPAddress", None)
    world.tamper(world.hub.nics[nva]["untrust"], change)


def _stuck_repair(world: Rig) -> None:
    """A repair toward fw-a that cannot finish: the public IP was taken off fw-a and every write of fw-a's untrust NIC
    fails, so the repair fails and is resumed run after run (the engine as it was kept resuming it for good)."""
    _detach_public_ip(world, "fw-a")
    world.arm.control.fault("status", operation="NetworkInterfaces_CreateOrUpdate", resource=_untrust("fw-a"), times=1000,
                            status=409, code="ScopeLocked", message="The scope is locked (ReadOnly).")
    engine = world.engine()
    time.sleep(0.6)  # reconcileEverySeconds 0.5: the next run reconciles, finds the drift and starts the repair
    engine.probe_cycle()
    state = _state(world)
    assert state.journal is not None and state.journal.kind == "repair" and state.journal.failures >= 1
    engine.probe_cycle()  # resumed, failing again
    state = _state(world)
    assert state.journal is not None and state.journal.failures >= 2


def test_a_stuck_repair_gives_way_when_its_target_dies_and_traffic_goes_to_the_healthy_standby(
        world: Rig, events: EventLog) -> None:
    world.policy["reconcileEverySeconds"] = 0.5
    settle(world)
    _stuck_repair(world)
    world.nvas["fw-a"].set_mode("down")
    engine = world.engine()
    world.arm.control.clear_requests()
    outcome = engine.probe_cycle()["hub-fw"]  # fw-a's probe fails: the repair toward it is abandoned, then a failover
    abandoned = events.named("FailoverAbandoned")
    assert len(abandoned) == 1 and abandoned[0]["to"] == "fw-a" and "not healthy now" in abandoned[0]["reason"], outcome
    for _ in range(3):
        if _state(world).active == "fw-b" and _state(world).journal is None:
            break
        engine.probe_cycle()
    assert _state(world).active == "fw-b"
    assert_on(world, "fw-b", "10.0.2.5")
    assert not any(r["path"].endswith(_untrust("fw-a")) and r["status"] < 300 for r in world.writes()), \
        "nothing moves toward fw-a once it failed"
    assert events.named("FailoverCompleted")[-1]["to"] == "fw-b"


def test_while_paused_a_stuck_automatic_change_is_abandoned_and_nothing_is_written(world: Rig, events: EventLog) -> None:
    world.policy["reconcileEverySeconds"] = 0.5
    settle(world)
    _stuck_repair(world)
    engine = world.engine()
    engine.set_paused("hub-fw", True, "change freeze")
    world.arm.control.clear_requests()
    for _ in range(3):
        engine.probe_cycle()
        time.sleep(0.3)
    assert world.writes() == [], "a paused cluster starts and resumes no automatic change"
    assert [a["reason"] for a in events.named("FailoverAbandoned")] == ["the cluster is paused (change freeze)"]
    status = engine.status("hub-fw")
    assert status["phase"] == "steady" and status["paused"] and status["pausedReason"] == "change freeze"
    # Force still works while paused, whatever is in flight: a forced failover to fw-b completes.
    world.arm.control.clear_faults()
    result = engine.failover("hub-fw", ManualRequest(target="fw-b", force=True))
    assert result["to"] == "fw-b" and not result["dryRun"]
    assert_on(world, "fw-b", "10.0.2.5")


def test_force_supersedes_a_live_change_without_waiting_for_its_lease(world: Rig, events: EventLog) -> None:
    settle(world)
    engine = world.engine()
    state = _state(world)
    now = datetime.now(UTC)
    held = Journal("repair", state.epoch, "fw-a", "fw-a", "auto", "drift repair", now, "elsewhere:1", now + timedelta(hours=1))
    engine.store.save(replace(state, phase="failing_over", journal=held))
    started = time.monotonic()
    result = engine.failover("hub-fw", ManualRequest(target="fw-b", force=True))
    assert time.monotonic() - started < 2.5, "no lease is waited out"
    assert result["to"] == "fw-b" and result["epoch"] == state.epoch + 1
    assert [a["reason"] for a in events.named("FailoverAbandoned")] == ["superseded by a forced manual failover"]
    assert_on(world, "fw-b", "10.0.2.5")


def test_a_new_state_table_places_the_cluster_where_azure_has_it_and_moves_nothing(world: Rig, events: EventLog) -> None:
    settle(world)
    world.nvas["fw-a"].set_mode("down")
    engine = world.engine()
    for _ in range(3):
        engine.probe_cycle()
    assert_on(world, "fw-b", "10.0.2.5")
    world.policy["reconcileEverySeconds"] = 0.5
    world.table = world.table + "new"  # a new state table: the cluster is first seen again, with traffic on fw-b
    fresh = world.engine()
    world.arm.control.clear_requests()
    fresh.probe_cycle()  # fw-a still down: the engine as it was moved everything onto it here
    assert _state(world).active == "fw-b"
    assert [e["active"] for e in events.named("ClusterPlaced")] == ["fw-a", "fw-b"]  # the first table's, then the new one's
    world.nvas["fw-a"].set_mode("up")  # healthy again, failback "never": nothing moves back either
    for _ in range(4):
        time.sleep(0.3)
        fresh.probe_cycle()
    assert world.writes() == [], "no write on first sight, none toward fw-a"
    assert _state(world).active == "fw-b"
    assert_on(world, "fw-b", "10.0.2.5")


def _renamed(world: Rig, old: str, new: str) -> None:
    config = world.hub.config["clusters"][0]
    for nva in config["nvas"]:
        if nva["name"] == old:
            nva["name"] = new
    if config.get("preferred") == old:
        config["preferred"] = new


def test_a_journal_toward_a_renamed_nva_is_abandoned_and_the_cluster_keeps_working(world: Rig, events: EventLog) -> None:
    settle(world)
    engine = world.engine()
    state = _state(world)
    now = datetime.now(UTC) - timedelta(seconds=10)
    lapsed = Journal("failover", state.epoch + 1, "fw-a", "fw-b", "manual", "x", now, "gone:1", now + timedelta(seconds=1))
    engine.store.save(replace(state, phase="failing_over", epoch=state.epoch + 1, journal=lapsed))
    _renamed(world, "fw-b", "fw-b2")
    renamed = world.engine()
    outcome = renamed.probe_cycle()["hub-fw"]
    assert not outcome.startswith("failed"), outcome
    assert [a["to"] for a in events.named("FailoverAbandoned")] == ["fw-b"]
    assert events.named("RunFailed") == []
    for _ in range(2):
        renamed.probe_cycle()  # fw-b2 proves healthy
    result = renamed.failover("hub-fw", ManualRequest())
    assert result["to"] == "fw-b2"
    assert_on(world, "fw-b", "10.0.2.5")  # fw-b2 is fw-b's NICs under a new name


def test_a_renamed_active_is_placed_from_azure_and_its_death_is_acted_on(world: Rig, events: EventLog) -> None:
    settle(world)
    _renamed(world, "fw-a", "fw-a2")
    renamed = world.engine()
    world.arm.control.clear_requests()
    renamed.probe_cycle()
    assert _state(world).active == "fw-a2" and "fw-a" not in _state(world).health
    assert world.writes() == []
    world.nvas["fw-a"].set_mode("down")
    for _ in range(3):
        renamed.probe_cycle()
    assert _state(world).active == "fw-b"
    assert_on(world, "fw-b", "10.0.2.5")


def test_a_queued_change_that_no_executor_claims_is_carried_out_by_the_next_run(world: Rig, events: EventLog) -> None:
    settle(world)
    engine = world.engine(queue=True)  # queues to the test's queue, which no executor reads
    world.nvas["fw-a"].set_mode("down")
    world.arm.control.clear_requests()
    engine.probe_cycle()
    engine.probe_cycle()
    assert world.writes() == [] and len(queued(world)) == 1
    time.sleep(engine.tuning.lease_seconds + 0.2)  # one schedule period: the token's lease lapsed unclaimed
    engine.probe_cycle()
    assert written(world) == FAILOVER_WRITES
    assert_on(world, "fw-b", "10.0.2.5")
    failed = events.named("DispatchFailed")
    assert len(failed) == 1 and failed[0]["error"] == UNCLAIMED
    assert len(queued(world)) == 1, "the change was not queued again"
    [message] = queued(world)
    assert engine.execute("hub-fw", message).startswith("nothing to do"), "the late message finds it done"


def test_a_public_ip_on_a_nic_outside_the_cluster_is_never_taken_from_it(world: Rig, events: EventLog) -> None:
    world.policy["reconcileEverySeconds"] = 0.5
    settle(world)
    _detach_public_ip(world, "fw-a")
    foreign = _nic(world.hub.subscriptions[0], "other-fw", "untrust", "10.0.1.9", world.hub.public_ip)
    world.arm.control.seed([foreign])
    world.seeded = world.snapshot()  # the foreign NIC is outside the scope: it must stay exactly as it is now
    engine = world.engine()
    world.arm.control.clear_requests()
    time.sleep(0.6)
    engine.probe_cycle()  # reconcile: the public IP is not where fw-a needs it, but it is on someone else's NIC
    assert world.writes() == []
    readiness = engine.check("hub-fw")
    resources = next(c for c in readiness["checks"] if c["name"] == "resources")
    assert not resources["ok"] and "other-fw-untrust" in resources["detail"] and "outside the cluster" in resources["detail"]
    world.nvas["fw-a"].set_mode("down")
    for _ in range(3):
        engine.probe_cycle()
    assert not any("other-fw" in r["path"] for r in world.writes())
    assert _state(world).active == "fw-b"
    assert world.pip_holders() == ["other-fw-untrust"]
