"""Contract §6 "Clusters apart": a zone outage's black-holed probes and a host name whose resolution hangs, all in one
cluster, never delay another cluster's probes: on the production-shaped hub, hub-fw records no failure and fails nothing
over. Every probe goes to 127.0.0.0/8 only."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from shared.adapters.probe_pools import getaddrinfo_lookup
from shared.adapters.probes import NetworkProber
from shared.edge.settings import build_engine
from tests.integration.rig import ROOT, EventLog, Rig

HUNG_NAME = "fw-dns.zone.test"
BLACK_HOLED = 200
SUB = "00000000-0000-0000-0000-00000000000f"


@pytest.fixture
def black_holes() -> Iterator[tuple[list[str], int]]:
    """200 loopback addresses (127.0.1.1-200) on one port, each a listening socket whose backlog is full: a connect there
    is never answered (the kernel drops the SYN), as a dead zone's addresses are."""
    listeners: list[socket.socket] = []
    fillers: list[socket.socket] = []
    port = 0
    try:
        for i in range(1, BLACK_HOLED + 1):
            listener = socket.socket()
            listener.bind((f"127.0.1.{i}", port))
            port = listener.getsockname()[1]
            listener.listen(0)
            listeners.append(listener)
            for _ in range(3):  # fill the accept queue: nothing ever accepts
                filler = socket.socket()
                filler.setblocking(False)
                try:
                    filler.connect((f"127.0.1.{i}", port))
                except BlockingIOError:
                    pass
                fillers.append(filler)
        time.sleep(0.2)
        yield [f"127.0.1.{i}" for i in range(1, BLACK_HOLED + 1)], port
    finally:
        for s in fillers + listeners:
            s.close()


def zone_clusters(addresses: list[str], port: int, per_cluster: int = 50) -> list[dict[str, Any]]:
    """The clusters of the dead zone, 50 black-holed NVAs each (a cluster's state row holds some 50 NVAs' health, not
    200); the first also has one NVA probed by a host name whose resolver never answers."""
    def nva(name: str, address: str) -> dict[str, Any]:
        nic = f"/subscriptions/{SUB}/resourceGroups/zone-rg/providers/Microsoft.Network/networkInterfaces/{name}-untrust"
        return {"name": name, "probe": {"protocol": "tcp", "address": address, "port": port},
                "interfaces": {"untrust": f"{nic}/ipConfigurations/ipconfig1"}}
    groups = [addresses[i:i + per_cluster] for i in range(0, len(addresses), per_cluster)]
    return [cluster(f"zone{g}", ([nva("zone-dns", HUNG_NAME)] if g == 0 else [])
                    + [nva(f"zone{g}-{i}", a) for i, a in enumerate(group)]) for g, group in enumerate(groups)]


def cluster(name: str, nvas: list[dict[str, Any]]) -> dict[str, Any]:
    return {"name": name, "nvas": nvas, "publicIps": [{
        "id": f"/subscriptions/{SUB}/resourceGroups/zone-rg/providers/Microsoft.Network/publicIPAddresses/{name}-pip",
        "interface": "untrust"}],
        "policy": {"unhealthyThreshold": 2, "healthyThreshold": 2, "probeTimeoutSeconds": 0.5, "reconcileEverySeconds": 3600}}


def test_a_dead_zone_and_a_hung_resolver_never_delay_another_cluster(world: Rig, events: EventLog,
                                                                      black_holes: tuple[list[str], int]) -> None:
    env = world.env()
    config = json.loads(env["NVA_HA_CONFIG"])
    config["clusters"] += zone_clusters(*black_holes)
    engine = build_engine({**env, "NVA_HA_CONFIG": json.dumps(config)}, ROOT)
    never = threading.Event()
    asked: list[str] = []

    def lookup(host: str, port: int) -> list[str]:  # the resolver at the prober's boundary: one name never answers
        asked.append(host)
        if host == HUNG_NAME:
            never.wait()
            raise OSError("resolver released at the end of the test")
        return getaddrinfo_lookup(host, port)

    engine.prober = NetworkProber(lookup=lookup)
    try:
        for run in range(5):
            engine.probe_cycle()
            hub = engine.status("hub-fw")
            for nva in hub["nvas"]:
                assert (nva["consecutiveFailures"], nva["lastError"]) == (0, None), (run, nva)
    finally:
        never.set()
    hub = engine.status("hub-fw")
    assert (hub["active"], hub["epoch"], hub["phase"]) == ("fw-a", 0, "steady")
    assert [n["healthy"] for n in hub["nvas"]] == [True, True]
    assert [e for e in events.named("FailoverStarted") if e["cluster"] == "hub-fw"] == []
    assert world.writes() == []
    # The zone itself: every probe failed (the scenario happened), the hung name within its timeout, asked of one lookup.
    zone = {n["name"]: n for c in ("zone0", "zone1", "zone2", "zone3") for n in engine.status(c)["nvas"]}
    assert len(zone) == BLACK_HOLED + 1 and all(n["healthy"] is False for n in zone.values()), zone
    assert zone["zone-dns"]["lastError"].startswith(f"name resolution of {HUNG_NAME} timed out"), zone["zone-dns"]
    assert "timed out" in zone["zone3-49"]["lastError"]
    assert asked.count(HUNG_NAME) == 1, "runs asking while a lookup hangs share it"
    assert sorted(e["cluster"] for e in events.named("NoHealthyNva")) == ["zone0", "zone1", "zone2", "zone3"]
