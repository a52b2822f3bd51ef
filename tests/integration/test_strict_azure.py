"""The engine on the emulator's stricter behaviours (issue 16): busy references, asynchronous conflicts, renewed etags."""

from __future__ import annotations

from emulation.topology import rid
from shared.domain.policy import ManualRequest
from tests.integration.rig import EventLog, Rig
from tests.integration.test_failover import assert_on

SUBNET = "/".join(["", "subscriptions", "{sub}", "resourceGroups", "hub-rg", "providers", "Microsoft.Network",
                   "virtualNetworks", "hub-vnet", "subnets", "untrust"])


def fail_fw_a(world: Rig) -> None:
    engine = world.engine()
    engine.probe_cycle()
    engine.probe_cycle()
    world.nvas["fw-a"].set_mode("down")
    world.arm.control.clear_requests()
    engine.probe_cycle()
    engine.probe_cycle()


def test_failover_rides_out_a_subnet_that_is_still_updating(world: Rig, events: EventLog) -> None:
    # Every NIC write of the failover references the untrust subnet: 429 RetryableError for the first second.
    world.arm.control.updating(SUBNET.format(sub=world.hub.subscriptions[0]), seconds=1.0)
    fail_fw_a(world)
    assert_on(world, "fw-b", "10.0.2.5")
    assert len(events.named("FailoverCompleted")) == 1
    nic_writes = [r for r in world.writes() if "/networkInterfaces/" in r["path"]]
    assert 429 in {r["status"] for r in nic_writes}


def test_failover_rides_out_writes_that_fail_later_with_another_operation_in_progress(world: Rig, events: EventLog) -> None:
    nsg = rid(world.hub.subscriptions[0], "hub-rg", "networkSecurityGroups", "untrust-nsg")
    world.arm.control.updating(nsg, seconds=1.0, answer="async", operation="PutSecurityRuleOperation")
    fail_fw_a(world)
    assert_on(world, "fw-b", "10.0.2.5")
    assert len(events.named("FailoverCompleted")) == 1
    nic_puts = [r for r in world.writes() if "/networkInterfaces/" in r["path"]]
    assert len(nic_puts) > 2  # accepted, failed asynchronously, written again


def test_failover_after_a_repair_uses_fresh_etags(world: Rig, events: EventLog) -> None:
    # A drift repair writes the route tables; the failover right after must not reuse the etags those PUTs answered.
    engine = world.engine()
    engine.probe_cycle()
    engine.probe_cycle()
    table = world.hub.listed_tables[0]
    body = world.snapshot()[table.lower()]
    body["properties"]["routes"][0]["properties"]["nextHopIpAddress"] = "10.0.2.5"  # drifted to the standby
    world.arm.control.seed([body])
    engine.failover("hub-fw", ManualRequest(target="fw-a", reason="repair drift"))
    assert world.hops()[table.rsplit("/", 1)[-1]]["default-via-fw"] == "10.0.2.4"
    world.nvas["fw-a"].set_mode("down")
    engine.probe_cycle()
    engine.probe_cycle()
    assert_on(world, "fw-b", "10.0.2.5")
    assert [r for r in world.writes() if r["status"] == 412] == []
