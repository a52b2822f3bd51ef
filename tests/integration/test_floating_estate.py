"""The dual-stack estate with a floating VIP against real parts: the ARM emulator, Azurite and NVA processes."""

from __future__ import annotations

import copy
import json
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from emulation.estates import ILB_FRONTEND, PLB, V6_HOP_WRITTEN, VIP, Estate, floating_estate
from emulation.harness import ArmEmulator, Azurite, NvaProcess, http_probes
from shared.domain.policy import ManualRequest
from shared.edge.engine import Engine
from tests.integration.rig import FAST_LATENCY, EventLog, Rig

KEPT = {"mgmt-via-fw-a": "10.0.2.4", "storage-via-fw-a": "10.0.2.4", "pinned-via-fw-a": "10.0.2.4",
        "to-vip": VIP, "to-ilb": ILB_FRONTEND, "kms-direct": None}


@pytest.fixture
def estate(azurite: Azurite, table_name: str, nva_factory: Callable[[], NvaProcess],
           monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    arm = ArmEmulator.start()
    try:
        nvas = {"fw-a": nva_factory(), "fw-b": nva_factory()}
        world = floating_estate(http_probes(nvas, "/health"))
        arm.control.seed(world.resources)
        arm.control.settings(latency=FAST_LATENCY, retry_after=10)
        for name, value in arm.env().items():
            monkeypatch.setenv(name, value)
        yield Rig(arm, azurite, nvas, world, table_name)
    finally:
        arm.stop()


def est(rig: Rig) -> Estate:
    assert isinstance(rig.hub, Estate)
    return rig.hub


def configs(rig: Rig, nic: str) -> dict[str, dict[str, Any]]:
    body = next(b for k, b in rig.snapshot().items() if k.endswith(f"/networkinterfaces/{nic}"))
    return {c["name"]: c["properties"] for c in body["properties"]["ipConfigurations"]}


def routes(rig: Rig, table: str) -> dict[str, str | None]:
    return rig.hops()[table]


def writes_by_resource(rig: Rig) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in rig.writes():
        name = r["path"].rsplit("/", 1)[-1]
        out[name] = out.get(name, 0) + 1
    return out


def fail_over(rig: Rig) -> Engine:
    """Both NVAs proven healthy, then fw-a down: the engine that failed over (its caches are the process's)."""
    engine = rig.engine()
    engine.probe_cycle()
    engine.probe_cycle()
    rig.arm.control.clear_requests()
    rig.nvas["fw-a"].set_mode("down")
    engine.probe_cycle()
    assert "fw-a failed" in engine.probe_cycle()["hub-fw"]
    return engine


def assert_vip_on(rig: Rig, nva: str) -> None:
    other = "fw-a" if nva == "fw-b" else "fw-b"
    assert "vip-web" not in configs(rig, f"{other}-untrust")
    vip = configs(rig, f"{nva}-untrust")["vip-web"]
    assert (vip["privateIPAddress"], vip["publicIPAddress"]["id"]) == (VIP, est(rig).floating_pip)
    assert vip["applicationSecurityGroups"] == [{"id": est(rig).asg}]
    assert vip["loadBalancerBackendAddressPools"] == [{"id": f"{PLB}/backendAddressPools/web"}]
    assert vip["subnet"]["id"].endswith("/subnets/untrust") and vip["primary"] is False


def test_failover_moves_the_vip_with_its_public_ip_and_asg_and_nothing_else(estate: Rig, events: EventLog) -> None:
    before = estate.snapshot()
    fail_over(estate)
    assert_vip_on(estate, "fw-b")
    # Exactly one write per NIC that changes; the trust NICs (load balancer pools) and the VIP's table are not written.
    assert writes_by_resource(estate) == {"fw-a-untrust": 1, "fw-b-untrust": 1, "spoke1-rt": 1, "spoke2-rt": 1}
    after = estate.snapshot()
    for key, old in before.items():
        new = after[key]
        if key.endswith(("-trust", "vip-rt")):
            assert new["etag"] == old["etag"] and new["properties"] == old["properties"], key
        if "/publicipaddresses/" in key:  # never written; only their holder (a read-only view) changed
            assert new["etag"] == old["etag"], key
        if key.endswith("-untrust"):
            assert {k: v for k, v in new["properties"].items() if k not in {"ipConfigurations", "provisioningState"}} == {
                k: v for k, v in old["properties"].items() if k not in {"ipConfigurations", "provisioningState"}}
            assert new["tags"] == old["tags"]
            was = {c["name"]: c["properties"] for c in old["properties"]["ipConfigurations"] if c["name"] != "vip-web"}
            now = {c["name"]: c["properties"] for c in new["properties"]["ipConfigurations"] if c["name"] != "vip-web"}
            for props in (*was.values(), *now.values()):
                props.pop("publicIPAddress", None)
            assert now == was, key
    # The leg public IPs (IPv4 and IPv6) moved too.
    b = configs(estate, "fw-b-untrust")
    assert b["ipconfig1"]["publicIPAddress"]["id"] == estate.hub.public_ip
    assert b["ipconfig-v6"]["publicIPAddress"]["id"] == est(estate).ipv6_pip
    assert routes(estate, "vip-rt") == {"default-via-vip": VIP, "east-west-via-ilb": ILB_FRONTEND}
    spoke1 = routes(estate, "spoke1-rt")
    assert (spoke1["default-via-fw"], spoke1["default6-via-fw"], spoke1["onprem-via-fw"]) == ("10.0.2.5", "fd00:2::5", "10.0.2.5")
    assert {r: spoke1[r] for r in KEPT} == KEPT
    assert routes(estate, "spoke2-rt") == {"default-via-fw": "10.0.2.5", "mgmt6-via-fw-a": "fd00:2::4",
                                           "pinned-via-fw-a": "10.0.2.5"}
    completed = events.named("FailoverCompleted")
    assert len(completed) == 1
    moved = {c["resource"].rsplit("/", 1)[-1]: c for c in json.loads(completed[0]["changes"])}
    assert moved["fw-b-untrust"]["after"]["floatingIps"] == {"vip-web": VIP}


@pytest.mark.parametrize("hung", ["fw-b-untrust", "fw-a-untrust"], ids=["between removal and addition", "during the removal"])
def test_a_crashed_move_is_completed_by_the_next_run(estate: Rig, events: EventLog, hung: str) -> None:
    engine = estate.engine()
    engine.probe_cycle()
    engine.probe_cycle()
    estate.nvas["fw-a"].set_mode("down")
    estate.arm.control.fault("hang", operation="NetworkInterfaces_CreateOrUpdate", resource=hung, times=1)
    command, env = estate.actor_command(cycles=3, interval=0.2)
    actor = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def removed() -> bool:
        state = engine.store.load("hub-fw")
        return bool(state and state.journal and any(s.startswith("removeFloatingIp") for s in state.journal.steps))

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and estate.arm.control.hung() == 0:
        time.sleep(0.05)
    assert estate.arm.control.hung() == 1, f"the actor's write to {hung} should hang"
    actor.send_signal(signal.SIGKILL)
    actor.wait(10)
    state = engine.store.load("hub-fw")
    assert state is not None and state.journal is not None and "vip-web" in state.journal.carried
    if hung == "fw-b-untrust":  # killed between the two writes: the VIP is on no NIC, only the journal knows its ASG
        assert removed()
        assert "vip-web" not in configs(estate, "fw-a-untrust") and "vip-web" not in configs(estate, "fw-b-untrust")
    else:  # killed while the removal hung: nothing moved yet
        assert not removed()
        assert_vip_on(estate, "fw-a")
    estate.arm.control.clear_faults()  # the dead actor's write stays hung until the end
    time.sleep(2.1)  # the dead actor's lease lapses
    engine.probe_cycle()
    status = engine.status("hub-fw")
    assert (status["phase"], status["active"]) == ("steady", "fw-b")
    assert len(events.named("FailoverResumed")) == 1
    assert_vip_on(estate, "fw-b")
    estate.arm.control.clear_requests()
    estate.arm.control.release()  # the dead actor's request reaches Azure late: its If-Match is stale
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not estate.writes():
        time.sleep(0.05)
    assert [w["status"] for w in estate.writes()] == [412]
    assert_vip_on(estate, "fw-b")


def test_route_filter_dry_run_lists_exactly_the_moving_routes(estate: Rig) -> None:
    engine = estate.engine()
    engine.probe_cycle()
    engine.probe_cycle()
    estate.arm.control.clear_requests()
    planned = engine.failover("hub-fw", ManualRequest(target="fw-b", dry_run=True))
    assert estate.writes() == []
    hops = {c["resource"].rsplit("/", 1)[-1]: c["after"]["nextHops"] for c in planned["changes"] if "nextHops" in c["after"]}
    assert hops == {"spoke1-rt": {"default-via-fw": "10.0.2.5", "default6-via-fw": "fd00:2::5", "onprem-via-fw": "10.0.2.5"},
                    "spoke2-rt": {"default-via-fw": "10.0.2.5", "pinned-via-fw-a": "10.0.2.5"}}
    done = engine.failover("hub-fw", ManualRequest(target="fw-b"))
    assert {c["resource"].rsplit("/", 1)[-1]: c["after"]["nextHops"] for c in done["changes"] if "nextHops" in c["after"]} == hops
    spoke1 = routes(estate, "spoke1-rt")
    assert {r: spoke1[r] for r in KEPT} == KEPT
    assert routes(estate, "spoke2-rt")["mgmt6-via-fw-a"] == "fd00:2::4"


def put_route(rig: Rig, table: str, route: str, hop: str) -> None:
    """Someone else (not the controller) rewrites one route's next hop."""
    rig.set_hop(next(t for t in rig.hub.listed_tables if t.endswith(f"/{table}")), route, hop)


def test_ipv6_written_non_canonically_is_right_and_ipv6_drift_is_repaired(estate: Rig, events: EventLog) -> None:
    estate.policy["reconcileEverySeconds"] = 0.5
    engine = estate.engine()
    engine.probe_cycle()
    engine.probe_cycle()
    assert estate.writes() == [] and events.named("DriftDetected") == []  # FD00:0002:…:0004 is fd00:2::4
    assert routes(estate, "spoke1-rt")["default6-via-fw"] == V6_HOP_WRITTEN
    put_route(estate, "spoke1-rt", "default6-via-fw", "FD00:2::5")
    time.sleep(0.6)
    estate.arm.control.clear_requests()
    engine.probe_cycle()
    assert routes(estate, "spoke1-rt")["default6-via-fw"] == "fd00:2::4"
    assert [w["path"].rsplit("/", 1)[-1] for w in estate.writes()] == ["spoke1-rt"]
    detected = events.named("DriftDetected")
    assert len(detected) == 1 and '"FD00:2::5"' in detected[0]["found"]
    assert len(events.named("DriftCorrected")) == 1


def test_vip_drift_is_repaired_with_what_it_carries(estate: Rig, events: EventLog) -> None:
    estate.policy["reconcileEverySeconds"] = 0.5
    engine = estate.engine()
    engine.probe_cycle()
    nic = next(n for n in estate.snapshot() if n.endswith("/fw-a-untrust"))
    estate.tamper(nic, lambda body: next(c for c in body["properties"]["ipConfigurations"] if c["name"] == "vip-web")[
        "properties"].pop("publicIPAddress"))
    time.sleep(0.6)
    estate.arm.control.clear_requests()
    engine.probe_cycle()
    assert_vip_on(estate, "fw-a")
    assert writes_by_resource(estate) == {"fw-a-untrust": 1}
    assert len(events.named("DriftCorrected")) == 1


def test_behind_a_load_balancer_a_cluster_with_no_route_table_moves_only_its_ips(estate: Rig) -> None:
    config = copy.deepcopy(estate.hub.config)
    for key in ("routeTables", "routeFilter"):
        del config["clusters"][0][key]
    estate.hub.config = config
    fail_over(estate)
    assert_vip_on(estate, "fw-b")
    assert writes_by_resource(estate) == {"fw-a-untrust": 1, "fw-b-untrust": 1}
    reads = [r["path"] for r in estate.arm.control.requests() if r["method"] == "GET"]
    assert not [p for p in reads if "routeTables" in p]
    for nva in ("fw-a", "fw-b"):
        assert configs(estate, f"{nva}-trust")["ipconfig1"]["loadBalancerBackendAddressPools"][0]["id"].endswith("/nva-trust")
