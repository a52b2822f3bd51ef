"""Many clusters in one app: two clusters whose owned routes share a route table fail over at the same moment and
neither undoes the other (If-Match, re-read, re-plan); 100 clusters, one failing over, the 99 others untouched. The
NVAs are a farm of real HTTP listeners on 127.20.x.y (emulation/nva_farm.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from emulation.fleet import Fleet, Member, fleet
from emulation.harness import ArmEmulator, Azurite, app_settings
from emulation.nva_farm import NvaFarm
from shared.edge.engine import Engine
from shared.edge.settings import build_engine
from tests.integration.rig import ROOT, EventLog


@pytest.fixture(scope="module")
def farm() -> Iterator[NvaFarm]:
    nvas = NvaFarm.start(200)
    try:
        yield nvas
    finally:
        nvas.stop()


def seeded(arm: ArmEmulator, azurite: Azurite, table: str, farm: NvaFarm, clusters: int) -> tuple[Fleet, Engine]:
    """The fleet in the emulator, every NVA up, and an engine that carries out what it locks itself."""
    world = fleet(clusters, farm.probe)
    arm.control.seed(world.resources)
    arm.control.settings(latency={"networkInterfaces.write": 0.3, "routeTables.write": 0.3}, retry_after=1, page_size=100)
    for i in range(2 * clusters):
        farm.set_mode(i, "up")
    env = app_settings(arm, world.config, azurite.connection_string, table, NVA_HA_POLL_INTERVAL_SECONDS="0.05")
    return world, build_engine(env, ROOT, queue=False)


def routes(arm: ArmEmulator) -> dict[str, dict[str, Any]]:
    """Route table id (lower case) -> route name -> next hop IP (or the next hop type)."""
    return {key: {r["name"]: r["properties"].get("nextHopIpAddress") or r["properties"]["nextHopType"]
                  for r in body["properties"]["routes"]}
            for key, body in arm.control.snapshot().items() if "/routetables/" in key}


def pip_holder(arm: ArmEmulator, member: Member) -> list[str]:
    return [body["name"] for key, body in arm.control.snapshot().items() if "/networkinterfaces/" in key
            for ipc in body["properties"]["ipConfigurations"]
            if (ipc["properties"].get("publicIPAddress") or {}).get("id", "").lower() == member.public_ip.lower()]


def wait_for(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_two_clusters_sharing_a_route_table_fail_over_at_once_and_neither_undoes_the_other(
        arm: ArmEmulator, azurite: Azurite, table_name: str, farm: NvaFarm, events: EventLog) -> None:
    world, engine = seeded(arm, azurite, table_name, farm, 2)
    (shared, (first, second)), = world.shared.items()
    a, b = world.members
    assert (first, second) == (a.name, b.name) and shared in a.tables and shared in b.tables
    engine.probe_cycle()
    engine.probe_cycle()
    before = routes(arm)
    arm.control.clear_requests()
    # The first write of the shared table is held: the other cluster's write lands in between, so the held one carries
    # an If-Match that no longer matches when it arrives.
    arm.control.fault("hang", operation="RouteTables_CreateOrUpdate", resource=shared.rsplit("/", 1)[-1], times=1)
    farm.set_mode(0, "down")  # c000-a
    farm.set_mode(2, "down")  # c001-a
    runner = threading.Thread(target=lambda: [engine.probe_cycle() for _ in range(2)])
    try:
        runner.start()
        wait_for(lambda: arm.control.hung() == 1, 30, "a write of the shared table to be held")
        wait_for(lambda: len(events.named("FailoverCompleted")) == 1, 30, "the other cluster's failover to complete")
        mid = routes(arm)[shared.lower()]
        done = events.named("FailoverCompleted")[0]["cluster"]
        held = a if done == b.name else b
        assert mid[f"to-{done}-spokes"] != before[shared.lower()][f"to-{done}-spokes"], "the other cluster wrote the table"
    finally:
        arm.control.release()
        arm.control.clear_faults()
        runner.join(60)
    wait_for(lambda: len(events.named("FailoverCompleted")) == 2, 30, "both failovers to complete")
    after = routes(arm)
    for m in (a, b):
        assert engine.status(m.name)["active"] == m.nvas[1]
        assert pip_holder(arm, m) == [f"{m.nvas[1]}-untrust"]
        own = next(t for t in m.tables if t != shared).lower()
        assert after[own]["default-via-fw"] == after[own]["onprem-via-fw"] == m.trust[m.nvas[1]]
    assert after[shared.lower()] == {f"to-{a.name}-spokes": a.trust[a.nvas[1]], f"to-{b.name}-spokes": b.trust[b.nvas[1]],
                                     "kms-direct": "Internet"}
    shared_puts = [r for r in arm.control.requests() if r["method"] == "PUT" and shared.lower() in r["path"].lower()]
    assert 412 in [r["status"] for r in shared_puts], f"the held write was not refused: {shared_puts}"
    assert [r["status"] for r in shared_puts].count(200) + [r["status"] for r in shared_puts].count(201) >= 2
    assert {e["cluster"] for e in events.named("FailoverCompleted")} == {a.name, b.name} and held.name != done


def test_a_hundred_clusters_in_one_app_one_fails_over_the_others_untouched(
        arm: ArmEmulator, azurite: Azurite, table_name: str, farm: NvaFarm, events: EventLog) -> None:
    world, engine = seeded(arm, azurite, table_name, farm, 100)
    engine.probe_cycle()  # first sight: every state created, Azure read back
    engine.probe_cycle()
    seeded_at = arm.control.snapshot()
    arm.control.clear_requests()
    events.records.clear()
    target = world.members[42]
    farm.set_mode(2 * target.index, "down")
    for _ in range(3):
        outcomes = engine.probe_cycle()
    assert events.named("FailoverCompleted") and {e["cluster"] for e in events.named("FailoverCompleted")} == {target.name}
    assert engine.status(target.name)["active"] == target.nvas[1]
    assert pip_holder(arm, target) == [f"{target.nvas[1]}-untrust"]
    scope = {i.lower() for i in (*target.tables, target.public_ip, *(n for legs in target.nics.values() for n in legs.values()))}
    written = {r["path"].split("?")[0].lower() for r in arm.control.requests() if r["method"] in {"PUT", "PATCH", "DELETE"}}
    assert written and all(any(w.endswith(s) for s in scope) for w in written), written
    now = arm.control.snapshot()
    changed = sorted(k for k in now if now[k] != seeded_at.get(k))
    assert changed and all(k in scope for k in changed), changed
    others = [m for m in world.members if m is not target]
    assert all(outcomes[m.name] == "steady" for m in others), {m.name: outcomes[m.name] for m in others if outcomes[m.name] != "steady"}
    assert all(engine.status(m.name)["active"] == m.nvas[0] for m in others[::9])
    # The heartbeat: one per run, counting every cluster; per-cluster ProbeCycle only for the cluster that changed.
    beats = [e for e in events.named("ProbeCycle") if e["cluster"] == "*"]
    assert len(beats) == 3 and all(e["clusters"] == 100 and e["stateQuery"] is True for e in beats)
    assert {e["cluster"] for e in events.named("ProbeCycle")} == {"*", target.name}
