"""The bad day on the production-shaped hub: writes that end Failed, tables that cannot be read or written, lost answers."""

from __future__ import annotations

import json

from tests.integration.rig import EventLog, Rig
from tests.integration.test_failover import FAILOVER_WRITES, assert_on, settle, written


def fail_over(world: Rig) -> dict[str, str]:
    """fw-a goes down; the cycles that follow fail over (the first one counts the first bad probe)."""
    engine = world.engine()
    world.nvas["fw-a"].set_mode("down")
    world.arm.control.clear_requests()
    engine.probe_cycle()
    return engine.probe_cycle()


def test_an_attach_that_ends_failed_with_its_body_kept_is_written_again_and_completes_only_on_succeeded(
        world: Rig, events: EventLog) -> None:
    settle(world)
    # Azure keeps the attach's body (the public IP on fw-b) and marks the NIC Failed: the content is right, the write is not.
    world.arm.control.fault("fail", operation="NetworkInterfaces_CreateOrUpdate", resource="fw-b-untrust", times=1,
                            code="InternalServerError")
    fail_over(world)
    nic = world.snapshot()[world.hub.nics["fw-b"]["untrust"].lower()]
    assert nic["properties"]["provisioningState"] == "Succeeded"
    assert written(world) == sorted([*FAILOVER_WRITES, "fw-b-untrust"]), "the Failed attach is written once more"
    assert_on(world, "fw-b", "10.0.2.5")
    completed = events.named("FailoverCompleted")
    assert len(completed) == 1 and completed[0]["to"] == "fw-b"
    assert [c["action"] for c in json.loads(completed[0]["changes"]) if c["resource"].endswith("fw-b-untrust")] == ["attachPublicIp"]
