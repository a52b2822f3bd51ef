"""More than one cluster: a hub's north-south firewalls beside its east-west ones, each with its own tables."""

from __future__ import annotations

import json
from typing import Any

from .topology import Hub, NvaSpec, hub, two_firewalls


def east_west(probes: dict[str, dict[str, Any]] | None = None) -> Hub:
    """A second pair in the same hub, ew-a (active) and ew-b, with its own public IP and its own spoke tables."""
    probes = probes or {}
    cluster = hub([
        NvaSpec("ew-a", {"untrust": "10.0.1.6", "trust": "10.0.2.6"}, probes.get("ew-a", {})),
        NvaSpec("ew-b", {"untrust": "10.0.1.7", "trust": "10.0.2.7"}, probes.get("ew-b", {})),
    ], subscriptions=1, discovered_per_sub=0, pinned=False, filler_per_sub=0, cluster="hub-ew")
    # The builder names spoke tables by subscription; these are another team's spokes.
    renamed = json.loads(json.dumps(cluster.__dict__).replace("/routeTables/spoke1-", "/routeTables/ew-spoke1-"))
    return Hub(**renamed)


def two_clusters(probes: dict[str, dict[str, Any]] | None = None) -> tuple[Hub, Hub, dict[str, Any]]:
    """The usual hub-fw pair and the hub-ew pair: their hubs, and one configuration document managing both."""
    north_south = two_firewalls(probes, pinned=False)
    ew = east_west(probes)
    config = {"clusters": north_south.config["clusters"] + ew.config["clusters"]}
    return north_south, ew, config


def resources(*hubs: Hub) -> list[dict[str, Any]]:
    """Every resource of the hubs, each once (they share the hub's management public IPs' resource group)."""
    seen: dict[str, dict[str, Any]] = {}
    for h in hubs:
        for r in h.resources:
            seen.setdefault(r["id"].lower(), r)
    return list(seen.values())
