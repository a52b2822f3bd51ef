"""The engine against real parts: Azurite for state, the HTTPS ARM emulator, NVA processes answering real probes."""

from __future__ import annotations

import signal
import subprocess
import threading
import time

from shared.domain.policy import ManualRequest
from tests.integration.rig import EventLog, Rig

OWNED = ("default-via-fw", "onprem-via-fw")


def settle(world: Rig, cycles: int = 2) -> None:
    engine = world.engine()
    for _ in range(cycles):
        engine.probe_cycle()


def assert_on(world: Rig, nva: str, trust_ip: str) -> None:
    """The public IP and every owned route of every managed table are on `nva`; what else they hold is as seeded.
    (Tables outside the cluster's scope are checked byte for byte by the `world` fixture.)"""
    assert world.pip_holders() == [f"{nva}-untrust"]
    hops = world.hops()
    for table_id in world.hub.all_tables:
        routes = hops[table_id.rsplit("/", 1)[-1]]
        assert {r: routes[r] for r in OWNED} == {r: trust_ip for r in OWNED}, table_id
        assert routes["via-other-nva"] == "10.9.9.9"
        assert routes["kms-direct"] is None


def written(world: Rig) -> list[str]:
    return sorted(r["path"].rsplit("/", 1)[-1] for r in world.writes())


# Two NICs (detach, attach) and the managed tables: the configured ones in both subscriptions, the discovered one in the
# second. The hub subscription's pinned tables point at the NVAs too, but are neither configured nor discovered.
FAILOVER_WRITES = sorted(["fw-a-untrust", "fw-b-untrust", "spoke1-listed1-rt", "spoke2-listed1-rt", "spoke2-found1-rt"])


def test_automatic_failover_moves_public_ip_and_every_owned_route(world: Rig, events: EventLog) -> None:
    engine = world.engine()
    before = world.snapshot()
    engine.probe_cycle()
    engine.probe_cycle()  # both NVAs healthy now; the first cycle reconciled and found no drift
    assert world.writes() == []
    world.nvas["fw-a"].set_mode("down")
    world.arm.control.clear_requests()
    engine.probe_cycle()
    assert events.named("FailoverStarted") == []
    outcome = engine.probe_cycle()
    assert "fw-a failed" in outcome["hub-fw"]

    assert_on(world, "fw-b", "10.0.2.5")
    after = world.snapshot()
    for key, old in before.items():
        new = after[key]
        if "/networkinterfaces/" in key:
            for prop in ("enableIPForwarding", "enableAcceleratedNetworking", "networkSecurityGroup", "dnsSettings",
                         "nicType", "disableTcpStateTracking", "macAddress", "resourceGuid"):
                assert new["properties"][prop] == old["properties"][prop], (key, prop)
            assert new["tags"] == old["tags"]
        if "/routetables/" in key:
            assert new.get("tags") == old.get("tags")
            assert new["properties"].get("disableBgpRoutePropagation") == old["properties"].get("disableBgpRoutePropagation")
    assert written(world) == FAILOVER_WRITES
    status = engine.status("hub-fw")
    assert (status["active"], status["epoch"], status["phase"]) == ("fw-b", 1, "steady")
    assert status["lastFailover"]["from"] == "fw-a" and status["lastFailover"]["trigger"] == "auto"
    started, completed = events.named("FailoverStarted"), events.named("FailoverCompleted")
    assert len(started) == 1 and len(completed) == 1
    assert (completed[0]["from"], completed[0]["to"], started[0]["epoch"]) == ("fw-a", "fw-b", 1)
    history = engine.store.history("hub-fw")
    assert [h["epoch"] for h in history] == [1]
    assert len(history[0]["changes"]) == len(FAILOVER_WRITES)


def test_steady_cycles_make_no_resource_manager_call(world: Rig) -> None:
    engine = world.engine()
    engine.probe_cycle()  # first sight: reconciles once (reads only)
    world.arm.control.clear_requests()
    for _ in range(3):
        engine.probe_cycle()
    assert world.arm.control.requests() == []


def test_no_write_when_every_nva_is_down(world: Rig, events: EventLog) -> None:
    engine = world.engine()
    settle(world)
    world.nvas["fw-a"].set_mode("down")
    world.nvas["fw-b"].set_mode("hang")
    world.arm.control.clear_requests()
    for _ in range(4):
        engine.probe_cycle()
    assert world.writes() == []
    raised = events.named("NoHealthyNva")
    assert len(raised) == 1
    assert "fw-a" in raised[0]["errors"] and "timed out" in raised[0]["errors"]
    assert engine.status("hub-fw")["active"] == "fw-a"
    assert_on(world, "fw-a", "10.0.2.4")


def test_two_engines_racing_fail_over_exactly_once(world: Rig, events: EventLog) -> None:
    a, b = world.engine(), world.engine()
    settle(world)
    world.nvas["fw-a"].set_mode("down")
    a.probe_cycle()
    world.arm.control.clear_requests()
    barrier = threading.Barrier(2)

    def run(engine: object) -> None:
        barrier.wait()
        engine.probe_cycle()  # type: ignore[attr-defined]

    threads = [threading.Thread(target=run, args=(e,)) for e in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for engine in (a, b):  # whoever stood down converges on the same state
        engine.probe_cycle()
    assert len(events.named("FailoverStarted")) == 1
    assert len(events.named("FailoverCompleted")) == 1
    assert a.status("hub-fw")["epoch"] == 1
    assert written(world) == FAILOVER_WRITES
    assert_on(world, "fw-b", "10.0.2.5")


def test_failover_killed_after_the_detach_is_completed_by_the_next_run(world: Rig, events: EventLog) -> None:
    settle(world)
    world.nvas["fw-a"].set_mode("down")
    world.arm.control.fault("hang", operation="NetworkInterfaces_CreateOrUpdate", resource="fw-b-untrust", times=1)
    command, env = world.actor_command(cycles=3, interval=0.2)
    actor = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    engine = world.engine()

    def detach_recorded() -> bool:
        state = engine.store.load("hub-fw")
        return bool(state and state.journal and any(s.startswith("detachPublicIp") for s in state.journal.steps))

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not detach_recorded():
        time.sleep(0.05)
    assert detach_recorded(), "the actor should have recorded the detach"
    time.sleep(0.3)  # the attach is now hung in flight
    actor.send_signal(signal.SIGKILL)
    actor.wait(10)
    assert world.pip_holders() == [], "killed after the detach: the public IP is on no NVA"
    world.arm.control.clear_faults()
    world.arm.control.release()  # the dead actor's attach request still reaches Azure, as it would
    state = engine.store.load("hub-fw")
    assert state is not None and state.phase == "failing_over" and state.journal is not None
    assert state.journal.lease_live(engine.clock()), "the dead actor's lease was renewed moments ago"
    engine.probe_cycle()  # the very next run: it waits out the lease nobody renews, then resumes
    assert engine.status("hub-fw")["phase"] == "steady"
    assert engine.status("hub-fw")["active"] == "fw-b"
    assert len(events.named("FailoverResumed")) == 1
    assert_on(world, "fw-b", "10.0.2.5")


def test_drift_is_detected_and_repaired(world: Rig, events: EventLog) -> None:
    world.policy["reconcileEverySeconds"] = 0.5
    engine = world.engine()
    settle(world)
    table_id = world.hub.listed_tables[1]
    world.set_hop(table_id, "default-via-fw", "10.0.2.5")
    time.sleep(0.6)
    world.arm.control.clear_requests()
    engine.probe_cycle()
    assert_on(world, "fw-a", "10.0.2.4")
    assert [r["path"].lower() for r in world.writes()] == [table_id.lower()]
    detected, corrected = events.named("DriftDetected"), events.named("DriftCorrected")
    assert len(detected) == 1 and len(corrected) == 1
    assert detected[0]["resource"].lower() == table_id.lower()
    assert '"10.0.2.5"' in detected[0]["found"]


def test_tables_outside_the_scope_are_never_written_nor_planned(world: Rig, events: EventLog) -> None:
    """Contract §6 "In scope only": a table in the same resource group as configured ones, pointing at the NVAs, but
    neither configured nor in a discovered subscription, is left alone by a dry run, a failover, a repair, a manual one."""
    pinned = {t.rsplit("/", 1)[-1] for t in world.hub.pinned_tables}
    assert pinned and all("/resourceGroups/spoke-rg/" in t for t in world.hub.pinned_tables)
    assert any("/resourceGroups/spoke-rg/" in t and world.hub.subscriptions[0] in t for t in world.hub.listed_tables)
    world.policy["reconcileEverySeconds"] = 0.5
    engine = world.engine()
    settle(world)
    world.nvas["fw-a"].set_mode("down")
    engine.probe_cycle()
    world.arm.control.clear_requests()

    dry = engine.failover("hub-fw", ManualRequest(target="fw-b", dry_run=True, force=True))
    planned = {c["resource"].rsplit("/", 1)[-1] for c in dry["changes"]}
    assert planned == set(FAILOVER_WRITES)
    assert world.writes() == []

    engine.probe_cycle()  # the automatic failover
    assert written(world) == FAILOVER_WRITES
    assert_on(world, "fw-b", "10.0.2.5")

    # Drift on a managed table is repaired; the pinned tables, which still point at fw-a and fw-b, are not "drift".
    table_id = world.hub.listed_tables[0]
    world.set_hop(table_id, "default-via-fw", "10.0.2.4")
    time.sleep(0.6)
    world.arm.control.clear_requests()
    engine.probe_cycle()
    assert written(world) == [table_id.rsplit("/", 1)[-1]]
    assert len(events.named("DriftCorrected")) == 1

    world.nvas["fw-a"].set_mode("up")
    engine.probe_cycle()
    engine.probe_cycle()
    world.arm.control.clear_requests()
    result = engine.failover("hub-fw", ManualRequest(target="fw-a", reason="back after repair"))
    assert {c["resource"].rsplit("/", 1)[-1] for c in result["changes"]} == set(FAILOVER_WRITES)
    assert written(world) == FAILOVER_WRITES
    assert_on(world, "fw-a", "10.0.2.4")
    assert not pinned & {w.rsplit("/", 1)[-1] for w in written(world)}


def test_a_live_actor_keeps_its_lease_while_another_run_stands_down(world: Rig, events: EventLog) -> None:
    """The other side of resuming in the next run: an actor that is alive (here waiting on a slow attach) renews its
    lease, so a run that finds it sees the renewal, writes nothing and leaves the change to it."""
    settle(world)
    world.nvas["fw-a"].set_mode("down")
    world.arm.control.fault("hang", operation="NetworkInterfaces_CreateOrUpdate", resource="fw-b-untrust", times=1)
    holder, other = world.engine(), world.engine()
    holder.probe_cycle()
    worker = threading.Thread(target=holder.probe_cycle)
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and world.arm.control.hung() == 0:
            time.sleep(0.05)
        assert world.arm.control.hung() == 1, "the holder's attach should be in flight"
        runs, until = 0, time.monotonic() + 3.5
        while time.monotonic() < until:  # runs that find the live lease, over more than one lease (2.5 s)
            outcome = other.probe_cycle()
            assert "in progress" in outcome["hub-fw"], outcome
            runs += 1
        assert runs >= 2
        state = other.store.load("hub-fw")
        assert state is not None and state.journal is not None and state.journal.lease_owner == holder.actor
        assert events.named("FailoverResumed") == []
    finally:
        world.arm.control.clear_faults()
        world.arm.control.release()
        worker.join(60)
    assert holder.status("hub-fw")["active"] == "fw-b" and holder.status("hub-fw")["phase"] == "steady"
    assert len(events.named("FailoverCompleted")) == 1
    assert_on(world, "fw-b", "10.0.2.5")
