"""Pure planning of Azure writes: only what differs, detaches before attaches, unrelated routes untouched."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from emulation.topology import UNRELATED_HOP, two_firewalls
from shared.domain.config import parse_config
from shared.domain.desired import AzureView, plan_changes, private_ips
from shared.domain.readiness import placement_check
from shared.errors import PermanentError
from tests.unit.seeded import seeded_view

HUB = two_firewalls({n: {"protocol": "tcp", "address": "127.0.0.1", "port": 22} for n in ("fw-a", "fw-b")})
CLUSTER = parse_config(HUB.config).clusters[0]


def view(resources: list[dict[str, Any]] | None = None) -> AzureView:
    """The seeded hub as Azure would show it: only the managed tables, as AzureNetwork.read keeps them."""
    return seeded_view(resources or HUB.resources, HUB.all_tables)


def test_nothing_to_do_when_azure_matches_the_active() -> None:
    assert plan_changes(CLUSTER, "fw-a", view()) == []


def test_failover_plans_one_write_per_changed_resource() -> None:
    changes = plan_changes(CLUSTER, "fw-b", view())
    by_name = {c.resource.rsplit("/", 1)[-1]: c for c in changes}
    assert set(by_name) == {"fw-a-untrust", "fw-b-untrust", "spoke1-listed1-rt",
                            "spoke2-listed1-rt", "spoke2-found1-rt"}
    assert (by_name["fw-a-untrust"].action, by_name["fw-a-untrust"].phase) == ("detachPublicIp", 0)
    assert (by_name["fw-b-untrust"].action, by_name["fw-b-untrust"].phase) == ("attachPublicIp", 1)
    table = by_name["spoke1-listed1-rt"]
    assert table.after == {"nextHops": {"default-via-fw": "10.0.2.5", "onprem-via-fw": "10.0.2.5"}}
    routes = {r["name"]: r["properties"] for r in table.body["properties"]["routes"]}
    assert routes["via-other-nva"]["nextHopIpAddress"] == UNRELATED_HOP
    assert "nextHopIpAddress" not in routes["kms-direct"]
    nic = by_name["fw-b-untrust"].body
    assert nic["properties"]["enableIPForwarding"] is True and nic["properties"]["nvaUnmodelledSetting"] == {"keep": "me", "level": 3}
    assert nic["properties"]["ipConfigurations"][0]["properties"]["publicIPAddress"]["id"] == HUB.public_ip


def test_routes_already_on_the_standby_are_left_alone() -> None:
    resources = copy.deepcopy(HUB.resources)
    for body in resources:
        for route in body.get("properties", {}).get("routes", []):
            if route["properties"].get("nextHopIpAddress") == "10.0.2.4" and "listed" in body["id"]:
                route["properties"]["nextHopIpAddress"] = "10.0.2.5"
    names = {c.resource.rsplit("/", 1)[-1] for c in plan_changes(CLUSTER, "fw-b", view(resources))}
    assert not any("listed" in n for n in names)
    assert {"spoke2-found1-rt"} <= names


def test_private_ips_come_from_azure() -> None:
    assert private_ips(CLUSTER, view())[("fw-b", "trust")] == "10.0.2.5"
    broken = view()
    key = next(k for k in broken.nics if k.endswith("fw-b-trust"))
    del broken.nics[key]["properties"]["ipConfigurations"][0]["properties"]["privateIPAddress"]
    with pytest.raises(PermanentError, match=r"fw-b\.trust"):
        private_ips(CLUSTER, broken)


def _failed(resources: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    out = copy.deepcopy(resources)
    for body in out:
        if body["id"].endswith("/" + name):
            body.setdefault("properties", {})["provisioningState"] = "Failed"
    return out


def test_a_resource_left_failed_with_the_wanted_content_is_written_again() -> None:
    """Verified means done (contract §6): a body Azure kept from a failed write is not done; its write is planned again."""
    changes = plan_changes(CLUSTER, "fw-a", view(_failed(_failed(HUB.resources, "fw-a-untrust"), "spoke1-listed1-rt")))
    by_name = {c.resource.rsplit("/", 1)[-1]: c for c in changes}
    assert set(by_name) == {"fw-a-untrust", "spoke1-listed1-rt"}
    nic = by_name["fw-a-untrust"]
    assert (nic.action, nic.phase, dict(nic.before)) == ("rewriteFailed", 1, {"provisioningState": "Failed"})
    assert nic.body["properties"]["ipConfigurations"][0]["properties"]["publicIPAddress"]["id"] == HUB.public_ip
    assert by_name["spoke1-listed1-rt"].action == "rewriteFailed"


def test_a_failed_nic_that_is_not_the_clusters_is_never_written() -> None:
    outsider = copy.deepcopy(next(b for b in HUB.resources if b["id"].endswith("/fw-b-trust")))
    outsider["id"] = outsider["id"].replace("fw-b-trust", "someone-else-nic")
    outsider["properties"]["provisioningState"] = "Failed"
    seen = view()
    assert plan_changes(CLUSTER, "fw-a", AzureView({**seen.nics, outsider["id"].lower(): outsider}, seen.public_ips,
                                                   seen.route_tables)) == []


def test_readiness_placement_counts_a_failed_resource_as_not_done() -> None:
    check = placement_check(CLUSTER, "fw-a", view(_failed(HUB.resources, "spoke2-found1-rt")), True)
    assert not check.ok and "spoke2-found1-rt (rewriteFailed" in check.detail
    assert placement_check(CLUSTER, "fw-a", view(), True).ok
