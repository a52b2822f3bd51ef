"""Atomic floating IP moves (shared.adapters.moves) against the emulator: the feature registered or not, the public IP carried or not,
and a crash while the move runs. The VIP is never on no NIC on the move path, and ends with its public IP, ASG and pool."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from emulation.estates import SUB, floating_estate, vip_only
from emulation.harness import ArmEmulator, Azurite, NvaProcess, http_probes
from tests.integration.rig import FAST_LATENCY, EventLog, Rig
from tests.integration.test_floating_estate import assert_vip_on, configs, estate, fail_over

__all__ = ["estate"]  # the floating estate's fixture (leg public IPs in publicIps), used here as it is there
MOVE = "VirtualNetworks_MoveIpConfigurations"
LATENCY = {**FAST_LATENCY, "virtualNetworks.moveIpConfigurations": 0.4}


def moves(rig: Rig) -> list[dict[str, object]]:
    return [r for r in rig.arm.control.requests() if r["operation"] == MOVE]


def resources_detail(rig: Rig) -> str:
    checks = {c["name"]: c for c in rig.engine().check("hub-fw")["checks"]}
    assert checks["resources"]["ok"] is True, checks["resources"]
    return str(checks["resources"]["detail"])


class Watch:
    """Reads Azure back all along: how many NICs held the VIP at each look."""

    def __init__(self, rig: Rig) -> None:
        self.rig = rig
        self.counts: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            snapshot = self.rig.snapshot()  # one read of Azure: both NICs at the same moment
            self.counts.append(sum(c["name"] == "vip-web" for key, body in snapshot.items() if key.endswith("-untrust")
                                   for c in body["properties"]["ipConfigurations"]))
            time.sleep(0.02)

    def __enter__(self) -> Watch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture
def vip_estate(azurite: Azurite, table_name: str, nva_factory: Callable[[], NvaProcess],
               monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    """The floating estate with the cluster's public IP on the VIP only (no publicIps): the move is the whole NIC change."""
    arm = ArmEmulator.start()
    try:
        nvas = {"fw-a": nva_factory(), "fw-b": nva_factory()}
        world = vip_only(floating_estate(http_probes(nvas, "/health")))
        arm.control.seed(world.resources)
        arm.control.settings(latency=LATENCY, retry_after=10)
        for name, value in arm.env().items():
            monkeypatch.setenv(name, value)
        yield Rig(arm, azurite, nvas, world, table_name)
    finally:
        arm.stop()


@pytest.fixture
def registered(vip_estate: Rig) -> Iterator[Rig]:
    vip_estate.arm.control.feature(SUB)
    yield vip_estate


def test_without_the_feature_the_failover_makes_the_two_nic_writes_and_readiness_says_why(vip_estate: Rig) -> None:
    assert "two NIC writes in sequence: the subscription feature Microsoft.Network/AllowMoveIpConfigurations is " \
           f"NotRegistered in {SUB}" in resources_detail(vip_estate)
    with Watch(vip_estate) as watch:
        fail_over(vip_estate)
    assert_vip_on(vip_estate, "fw-b")
    assert moves(vip_estate) == []
    assert 0 in watch.counts  # between the removal and the addition the VIP is on no NIC: what the move avoids


def test_with_leg_public_ips_on_the_same_nics_the_writes_are_made_even_with_the_feature(estate: Rig) -> None:
    """The untrust NICs also move the cluster's leg public IPs: those two writes are needed anyway, a move first would
    only add an operation."""
    estate.arm.control.feature(SUB)
    detail = resources_detail(estate)
    assert "two NIC writes in sequence: the NICs of leg untrust also move public IPs of publicIps" in detail, detail
    fail_over(estate)
    assert_vip_on(estate, "fw-b")
    assert moves(estate) == []


@pytest.mark.parametrize("leaves", [[], ["publicIPAddress", "applicationSecurityGroups", "loadBalancerBackendAddressPools"]],
                         ids=["carries everything", "leaves the public IP, ASG and pool behind"])
def test_with_the_feature_one_operation_moves_the_vip_and_what_it_left_is_written(registered: Rig, events: EventLog,
                                                                                  leaves: list[str]) -> None:
    registered.arm.control.moves(leaves=leaves)
    detail = resources_detail(registered)
    assert f"one moveIpConfigurations operation: the subscription feature Microsoft.Network/AllowMoveIpConfigurations " \
           f"is Registered in {SUB}" in detail, detail
    with Watch(registered) as watch:
        fail_over(registered)
    assert_vip_on(registered, "fw-b")
    assert [m["status"] for m in moves(registered)] == [202]
    assert watch.counts and set(watch.counts) == {1}, "the VIP was on no NIC (or on two) during the failover"
    untrust = [w["path"].rsplit("/", 1)[-1] for w in registered.writes() if w["path"].endswith("-untrust")]
    assert untrust == (["fw-b-untrust"] if leaves else [])  # what the move left behind: one write puts it back
    completed = events.named("FailoverCompleted")
    assert len(completed) == 1
    status = registered.engine().status("hub-fw")
    assert (status["active"], status["phase"]) == ("fw-b", "steady")


def test_a_refused_move_falls_back_to_the_two_writes(registered: Rig) -> None:
    registered.arm.control.fault("status", operation=MOVE, status=400, code="SubscriptionNotRegisteredForFeature", times=1)
    engine = fail_over(registered)
    assert_vip_on(registered, "fw-b")
    assert [m["status"] for m in moves(registered)] == [400]
    # Remembered by this process: until the cache's life has passed, its failovers take the writes at once.
    resources = {c["name"]: c for c in engine.check("hub-fw")["checks"]}["resources"]
    assert f"two NIC writes in sequence: the last move in {SUB} was refused (400 SubscriptionNotRegisteredForFeature)" in resources["detail"]


def test_a_crash_during_the_move_is_completed_by_the_next_run(registered: Rig, events: EventLog) -> None:
    """The move lands (the VIP is on fw-b without its public IP and ASG), its operation never ends, the actor is killed:
    the next run puts the public IP and the ASG back from the journal and moves the leg public IPs."""
    registered.arm.control.moves(leaves=["publicIPAddress", "applicationSecurityGroups"])
    engine = registered.engine()
    engine.probe_cycle()
    engine.probe_cycle()
    registered.nvas["fw-a"].set_mode("down")
    registered.arm.control.fault("stall", operation=MOVE, times=1)
    command, env = registered.actor_command(cycles=3, interval=0.2)
    actor = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not moves(registered):
        time.sleep(0.05)
    assert [m["status"] for m in moves(registered)] == [202], "the actor should have started the move"
    time.sleep(0.3)
    actor.send_signal(signal.SIGKILL)
    actor.wait(10)
    vip = configs(registered, "fw-b-untrust")["vip-web"]
    assert "vip-web" not in configs(registered, "fw-a-untrust")
    assert "publicIPAddress" not in vip and "applicationSecurityGroups" not in vip  # what the move left behind
    state = engine.store.load("hub-fw")
    assert state is not None and state.journal is not None and "vip-web" in state.journal.carried
    registered.arm.control.clear_faults()
    registered.arm.control.release()  # the held operation ends (Azure's would, in its own time)
    time.sleep(2.1)  # the dead actor's lease lapses
    engine.probe_cycle()
    status = engine.status("hub-fw")
    assert (status["phase"], status["active"]) == ("steady", "fw-b")
    assert len(events.named("FailoverResumed")) == 1
    assert_vip_on(registered, "fw-b")


def test_a_move_whose_answer_is_lost_is_read_back_and_finished(registered: Rig) -> None:
    """The move lands, its answer never arrives (the connection drops): the NICs are read back, what the move left behind
    is written, and the next failover still takes the move (a lost answer is no refusal)."""
    registered.arm.control.moves(leaves=["publicIPAddress"])
    registered.arm.control.fault("lose-response", operation=MOVE, times=1)
    engine = fail_over(registered)
    assert_vip_on(registered, "fw-b")
    assert len(moves(registered)) == 1  # not sent again: a POST whose answer was lost is read back, never retried
    resources = {c["name"]: c for c in engine.check("hub-fw")["checks"]}["resources"]
    assert "one moveIpConfigurations operation" in resources["detail"]
