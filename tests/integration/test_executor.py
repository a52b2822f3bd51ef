"""The executor's guarantees against real parts: stale and duplicate messages are harmless, a lost one is covered by the
lease, a queue that cannot be reached does not stop a failover, and nothing a message carries makes a run raise."""

from __future__ import annotations

import base64
import threading
import time

import pytest
from azure.storage.queue import QueueClient

from emulation.harness import free_port
from shared.domain.messages import Dispatch
from shared.edge.runtime import Runtime
from tests.integration.rig import ROOT, EventLog, Rig
from tests.integration.test_failover import FAILOVER_WRITES, assert_on, settle, written


def queued(world: Rig) -> list[Dispatch]:
    """What is on the test's queue now, left there."""
    client = QueueClient.from_connection_string(world.azurite.connection_string, world.queue)
    return [Dispatch.parse(base64.b64decode(m.content)) for m in client.peek_messages(max_messages=32)]


def test_the_timer_locks_and_queues_and_the_executor_carries_out(world: Rig, events: EventLog) -> None:
    settle(world)
    engine = world.engine(queue=True)
    world.nvas["fw-a"].set_mode("down")
    world.arm.control.clear_requests()
    engine.probe_cycle()
    engine.probe_cycle()
    state = engine.store.load("hub-fw")
    assert state is not None and state.journal is not None and state.journal.lease_owner.startswith("queued:")
    assert world.writes() == [] and events.named("FailoverStarted") == []  # the timer wrote the lock, nothing in Azure
    [message] = queued(world)
    assert (message.cluster, message.kind, message.epoch, message.token) == ("hub-fw", "failover", 1, state.journal.lease_owner)
    assert "done" in engine.execute("hub-fw", message)
    assert written(world) == FAILOVER_WRITES
    assert_on(world, "fw-b", "10.0.2.5")
    # The same message again (the host delivers at least once), and a stale one of another epoch: nothing happens.
    world.arm.control.clear_requests()
    assert engine.execute("hub-fw", message).startswith("nothing to do")
    assert engine.execute("hub-fw", Dispatch("hub-fw", "failover", 7, "queued:old")).startswith("nothing to do")
    assert world.writes() == []
    assert len(events.named("FailoverStarted")) == 1 and len(events.named("FailoverCompleted")) == 1


def test_a_lost_message_is_carried_out_by_the_first_run_after_its_lease_lapses(world: Rig, events: EventLog) -> None:
    settle(world)
    engine = world.engine(queue=True)
    world.nvas["fw-a"].set_mode("down")
    engine.probe_cycle()
    engine.probe_cycle()
    [lost] = queued(world)
    QueueClient.from_connection_string(world.azurite.connection_string, world.queue).clear_messages()
    outcome = engine.probe_cycle()  # the lease of the lost dispatch is live: this run leaves it
    assert "in progress" in outcome["hub-fw"]
    assert queued(world) == []
    time.sleep(engine.tuning.lease_seconds)  # nobody renews a queued change's lease
    engine.probe_cycle()  # no executor claimed it within one period: this run carries it out (contract rev. 3)
    assert queued(world) == [], "not queued again: a queue nobody reads would swallow it again"
    assert_on(world, "fw-b", "10.0.2.5")
    assert [e["epoch"] for e in events.named("DispatchFailed")] == [lost.epoch]
    # The lost message turns up after all: the change is done.
    assert engine.execute("hub-fw", lost).startswith("nothing to do")
    assert len(events.named("FailoverCompleted")) == 1


def test_a_live_executor_is_not_disturbed_by_a_duplicate_message(world: Rig, events: EventLog) -> None:
    settle(world)
    engine, other = world.engine(queue=True), world.engine(queue=True)
    world.nvas["fw-a"].set_mode("down")
    engine.probe_cycle()
    engine.probe_cycle()
    [message] = queued(world)
    world.arm.control.fault("hang", operation="NetworkInterfaces_CreateOrUpdate", resource="fw-b-untrust", times=1)
    results: list[str] = []
    worker = threading.Thread(target=lambda: results.append(engine.execute("hub-fw", message)))
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while world.arm.control.hung() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert world.arm.control.hung() == 1
        assert other.execute("hub-fw", message) == "stood down: another actor holds the change"
        assert events.named("FailoverResumed") == []
    finally:
        world.arm.control.clear_faults()
        world.arm.control.release()
        worker.join(60)
    assert results and "done" in results[0]
    assert_on(world, "fw-b", "10.0.2.5")


def test_a_queue_that_cannot_be_reached_does_not_stop_a_failover(world: Rig, events: EventLog) -> None:
    settle(world)
    dead = f"http://127.0.0.1:{free_port()}/devstoreaccount1"
    engine = world.engine(queue=True, AzureWebJobsStorage=world.azurite.connection_string.replace(
        world.azurite.queue_endpoint, dead))
    world.nvas["fw-a"].set_mode("down")
    engine.probe_cycle()
    engine.probe_cycle()  # cannot queue it: carries it out itself, under the lock it took
    assert len(events.named("DispatchFailed")) == 1
    assert written(world) == FAILOVER_WRITES
    assert_on(world, "fw-b", "10.0.2.5")
    assert engine.status("hub-fw")["phase"] == "steady"


def test_a_bad_or_foreign_message_is_dropped_without_raising(world: Rig, events: EventLog, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in world.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("NVA_HA_CONFIG_FILE", raising=False)
    runtime = Runtime(ROOT)
    for body in (b"not json", b"[1]", b'{"cluster": "hub-fw"}', b'{"cluster": "hub-fw", "kind": "x", "epoch": 1, "token": ""}'):
        assert runtime.execute(body).startswith("dropped"), body
    assert runtime.execute(Dispatch("nope", "failover", 1, "queued:x").to_json().encode()).startswith("dropped")
    assert runtime.execute(Dispatch("hub-fw", "failover", 1, "queued:x").to_json().encode()).startswith("nothing to do")
    assert len(events.named("RunFailed")) == 4
    assert world.writes() == []
