"""A fleet: one app managing many clusters of two NVAs each in one hub, each shaped like topology.hub's production hub,
and some pairs of clusters whose owned routes share a route table."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .clusters import resources as unique
from .topology import LOCATION, Hub, NvaSpec, hub, rid, sub_id

SUB = sub_id(1)
POLICY = {"unhealthyThreshold": 2, "healthyThreshold": 1, "probeTimeoutSeconds": 0.5, "reconcileEverySeconds": 3600}


@dataclass
class Member:
    """One cluster of the fleet: `name`-a (active, preferred) and `name`-b, and what a failover of it writes."""

    name: str
    index: int
    nvas: tuple[str, str]
    trust: dict[str, str]  # nva -> the private IP of its trust leg (the next hop of the cluster's owned routes)
    nics: dict[str, dict[str, str]]  # nva -> leg -> NIC id
    public_ip: str
    tables: list[str]  # managed route tables: its own, and the one it shares with its neighbour, if any


@dataclass
class Fleet:
    resources: list[dict[str, Any]]
    config: dict[str, Any]
    members: list[Member]
    shared: dict[str, tuple[str, str]]  # a shared route table -> the two clusters whose routes it holds


def _ips(n: int) -> dict[str, str]:
    """The n-th NVA's legs: unique addresses, whose management IP (last octet + 100) stays an address."""
    return {"untrust": f"10.1.{n // 100}.{4 + n % 100}", "trust": f"10.2.{n // 100}.{4 + n % 100}"}


def _member(c: int, probe: Callable[[int], dict[str, Any]], policy: dict[str, Any]) -> tuple[Hub, Member]:
    name = f"c{c:03}"
    specs = [NvaSpec(f"{name}-{x}", _ips(2 * c + k), probe(2 * c + k)) for k, x in enumerate("ab")]
    one = hub(specs, subscriptions=1, discovered_per_sub=0, pinned=False, filler_per_sub=0, cluster=name)
    one = Hub(**json.loads(json.dumps(one.__dict__).replace("/routeTables/spoke1-listed", f"/routeTables/{name}-spoke1-listed")))
    one.config["clusters"][0]["policy"] = dict(policy)
    member = Member(name, c, (specs[0].name, specs[1].name), {s.name: s.ips["trust"] for s in specs}, one.nics,
                    one.public_ip, list(one.listed_tables))
    return one, member


def _shared_table(table: str, a: Member, b: Member) -> dict[str, Any]:
    def route(m: Member, octet: int) -> dict[str, Any]:
        return {"name": f"to-{m.name}-spokes", "properties": {
            "addressPrefix": f"10.{octet}.{m.index % 250}.0/24", "nextHopType": "VirtualAppliance",
            "nextHopIpAddress": m.trust[m.nvas[0]]}}
    return {"id": table, "location": LOCATION, "tags": {"owner": "network-team"}, "properties": {
        "disableBgpRoutePropagation": True, "routes": [
            route(a, 200), route(b, 201),
            {"name": "kms-direct", "properties": {"addressPrefix": "20.118.99.224/32", "nextHopType": "Internet"}}]}}


def fleet(count: int, probe: Callable[[int], dict[str, Any]], share_every: int = 10,
          policy: dict[str, Any] | None = None) -> Fleet:
    """`count` clusters c000, c001, …; the NVAs of cluster c are the probes 2c and 2c+1. Every `share_every` clusters,
    the first and the second share a route table (`shared-cNNN-rt`) that holds one owned route of each."""
    hubs, members = [], []
    for c in range(count):
        one, member = _member(c, probe, policy or POLICY)
        hubs.append(one)
        members.append(member)
    shared: dict[str, tuple[str, str]] = {}
    extra: list[dict[str, Any]] = []
    for c in range(0, count - 1, share_every):
        a, b = members[c], members[c + 1]
        table = rid(SUB, "spoke-rg", "routeTables", f"shared-{a.name}-rt")
        extra.append(_shared_table(table, a, b))
        shared[table] = (a.name, b.name)
        for m, h in ((a, hubs[c]), (b, hubs[c + 1])):
            m.tables.append(table)
            h.config["clusters"][0]["routeTables"].append(table)
    config = {"clusters": [h.config["clusters"][0] for h in hubs]}
    return Fleet(unique(*hubs) + extra, config, members, shared)
