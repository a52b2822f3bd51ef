"""Failovers within Resource Manager's budget: status polls without Retry-After, Microsoft.Network's write window."""

from __future__ import annotations

from tests.integration.rig import EventLog, Rig
from tests.integration.test_failover import FAILOVER_WRITES, assert_on, settle


def fail_over(world: Rig) -> None:
    engine = world.engine()
    settle(world)
    world.nvas["fw-a"].set_mode("down")
    world.arm.control.clear_requests()
    for _ in range(4):
        engine.probe_cycle()


def test_status_polls_answered_without_retry_after_are_paced_by_the_engine(world: Rig, events: EventLog) -> None:
    world.arm.control.settings(retry_after=0)
    fail_over(world)
    assert_on(world, "fw-b", "10.0.2.5")
    assert len(events.named("FailoverCompleted")) == 1
    log = world.arm.control.requests()
    polls = [r for r in log if "/operations/" in r["path"]]
    writes = [r for r in log if r["method"] == "PUT"]
    # Paced: a handful of polls per write even in a fresh process whose poll clock has learnt nothing yet (16 for 5 writes
    # here); polling on every answer without a Retry-After would make hundreds.
    assert len(writes) == len(FAILOVER_WRITES) and 1 <= len(polls) <= 4 * len(writes)


def test_the_network_write_window_is_waited_out_not_fought(world: Rig, events: EventLog) -> None:
    world.arm.control.throttle(network={"writes": 2, "window": 1.5})  # subscription 1 takes three writes
    fail_over(world)
    assert_on(world, "fw-b", "10.0.2.5")
    assert len(events.named("FailoverCompleted")) == 1
    refused = [r for r in world.arm.control.requests() if r["status"] == 429]
    assert refused, "three writes through a window of two should be refused at least once"
    assert all(r["method"] == "PUT" for r in refused)
