"""Pure planning on the dual-stack estate: the floating VIP moves with what it carries, everything else stays."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from emulation.estates import ILB, PLB, VIP, floating_estate
from shared.domain.config import parse_config
from shared.domain.desired import AzureView, Change, plan_changes
from shared.domain.floating import carried_configs
from shared.errors import PermanentError
from tests.unit.seeded import seeded_view

ESTATE = floating_estate({n: {"protocol": "tcp", "address": "127.0.0.1", "port": 22} for n in ("fw-a", "fw-b")})
CLUSTER = parse_config(ESTATE.config).clusters[0]


def view(resources: list[dict[str, Any]]) -> AzureView:
    """The estate as Azure would show it, every table managed."""
    return seeded_view(resources)


def by_name(changes: list[Change]) -> dict[str, Change]:
    return {c.resource.rsplit("/", 1)[-1]: c for c in changes}


def configs(change: Change) -> dict[str, dict[str, Any]]:
    return {c["name"]: c["properties"] for c in change.body["properties"]["ipConfigurations"]}


def nic(v: AzureView, name: str) -> dict[str, Any]:
    return next(b for k, b in v.nics.items() if k.endswith(f"/{name}"))


def test_steady_estate_needs_nothing() -> None:
    assert plan_changes(CLUSTER, "fw-a", view(ESTATE.resources)) == []


def test_failover_moves_the_vip_in_one_write_per_nic() -> None:
    changes = by_name(plan_changes(CLUSTER, "fw-b", view(ESTATE.resources)))
    assert set(changes) == {"fw-a-untrust", "fw-b-untrust", "spoke1-rt", "spoke2-rt"}  # trust NICs and vip-rt stay
    old, new = changes["fw-a-untrust"], changes["fw-b-untrust"]
    assert (old.action, old.phase, new.action, new.phase) == ("removeFloatingIp", 0, "addFloatingIp", 1)
    assert set(configs(old)) == {"ipconfig1", "ipconfig-v6"}
    assert old.after == {"publicIps": {"ipconfig1": None, "ipconfig-v6": None}, "floatingIps": {"vip-web": None}}
    added = configs(new)["vip-web"]
    assert added["privateIPAddress"] == VIP and added["privateIPAllocationMethod"] == "Static"
    assert added["publicIPAddress"] == {"id": ESTATE.floating_pip}
    assert added["applicationSecurityGroups"] == [{"id": ESTATE.asg}]
    assert added["loadBalancerBackendAddressPools"] == [{"id": f"{PLB}/backendAddressPools/web"}]
    assert added["primary"] is False and "provisioningState" not in added
    assert configs(new)["ipconfig1"]["primary"] is True
    assert configs(new)["ipconfig-v6"]["publicIPAddress"] == {"id": ESTATE.ipv6_pip}


def test_routes_to_the_vip_and_the_load_balancer_and_excluded_ones_stay() -> None:
    changes = by_name(plan_changes(CLUSTER, "fw-b", view(ESTATE.resources)))
    assert changes["spoke1-rt"].after == {"nextHops": {
        "default-via-fw": "10.0.2.5", "default6-via-fw": "fd00:2::5", "onprem-via-fw": "10.0.2.5"}}
    routes = {r["name"]: r["properties"] for r in changes["spoke1-rt"].body["properties"]["routes"]}
    assert routes["to-vip"]["nextHopIpAddress"] == VIP and routes["to-ilb"]["nextHopIpAddress"] == "10.0.2.100"
    for kept in ("mgmt-via-fw-a", "storage-via-fw-a", "pinned-via-fw-a"):
        assert routes[kept]["nextHopIpAddress"] == "10.0.2.4"
    # the same prefix in another table is not excluded by the route id
    assert changes["spoke2-rt"].after == {"nextHops": {"default-via-fw": "10.0.2.5", "pinned-via-fw-a": "10.0.2.5"}}


def test_the_vip_lands_in_the_subnet_of_the_new_nics_leg() -> None:
    v = view(ESTATE.resources)
    subnet = {"id": "/subscriptions/x/resourceGroups/hub-rg/providers/Microsoft.Network/virtualNetworks/hub-vnet/subnets/zone2"}
    nic(v, "fw-b-untrust")["properties"]["ipConfigurations"][0]["properties"]["subnet"] = subnet
    assert configs(by_name(plan_changes(CLUSTER, "fw-b", v))["fw-b-untrust"])["vip-web"]["subnet"] == subnet


def after_removal() -> AzureView:
    """Azure after the removing write, before the addition: the VIP is on no NIC."""
    v = view(ESTATE.resources)
    untrust = nic(v, "fw-a-untrust")["properties"]
    untrust["ipConfigurations"] = [c for c in untrust["ipConfigurations"] if c["name"] != "vip-web"]
    for c in untrust["ipConfigurations"]:
        c["properties"].pop("publicIPAddress", None)
    for pip in v.public_ips.values():
        pip["properties"].pop("ipConfiguration", None)
    return v


def test_resume_after_the_removal_adds_what_the_journal_carried() -> None:
    journaled = carried_configs(CLUSTER, view(ESTATE.resources).nics)
    changes = by_name(plan_changes(CLUSTER, "fw-b", after_removal(), journaled))
    assert set(changes) == {"fw-b-untrust", "spoke1-rt", "spoke2-rt"}
    added = configs(changes["fw-b-untrust"])["vip-web"]
    assert added["applicationSecurityGroups"] == [{"id": ESTATE.asg}]
    assert added["publicIPAddress"] == {"id": ESTATE.floating_pip}


def test_without_a_journal_the_vip_is_rebuilt_from_the_configuration() -> None:
    added = configs(by_name(plan_changes(CLUSTER, "fw-b", after_removal()))["fw-b-untrust"])["vip-web"]
    assert (added["privateIPAddress"], added["publicIPAddress"]["id"]) == (VIP, ESTATE.floating_pip)
    assert "applicationSecurityGroups" not in added


def test_a_floating_ip_that_is_a_primary_configuration_is_refused() -> None:
    v = view(ESTATE.resources)
    for c in nic(v, "fw-a-untrust")["properties"]["ipConfigurations"]:
        c["properties"]["primary"] = c["name"] == "vip-web"
    with pytest.raises(PermanentError, match=r"floatingIps\[0\] 'vip-web': is the primary IP configuration"):
        plan_changes(CLUSTER, "fw-b", v)


DRIFT: list[tuple[str, str, dict[str, Any]]] = [
    ("public IP taken off the vip", "fw-a-untrust", {"publicIPAddress": None}),
    ("wrong private IP", "fw-a-untrust", {"privateIPAddress": "10.0.1.11"}),
    ("wrong subnet", "fw-a-untrust", {"subnet": {"id": "/x/subnets/other"}}),
]


@pytest.mark.parametrize(("name", "nic_name", "props"), DRIFT, ids=[d[0] for d in DRIFT])
def test_drift_of_the_vip_is_repaired_in_place(name: str, nic_name: str, props: dict[str, Any]) -> None:
    v = view(ESTATE.resources)
    vip = next(c for c in nic(v, nic_name)["properties"]["ipConfigurations"] if c["name"] == "vip-web")
    for key, value in props.items():
        if value is None:
            vip["properties"].pop(key)
        else:
            vip["properties"][key] = value
    changes = by_name(plan_changes(CLUSTER, "fw-a", v))
    assert set(changes) == {nic_name}
    fixed = configs(changes[nic_name])["vip-web"]
    assert (fixed["privateIPAddress"], fixed["publicIPAddress"]["id"]) == (VIP, ESTATE.floating_pip)
    assert fixed["applicationSecurityGroups"] == [{"id": ESTATE.asg}]
    assert fixed["subnet"]["id"].endswith("/subnets/untrust")


def test_a_standby_holding_the_vip_public_ip_elsewhere_lets_go_first() -> None:
    v = view(ESTATE.resources)
    nic(v, "fw-b-untrust")["properties"]["ipConfigurations"][1]["properties"]["publicIPAddress"] = {"id": ESTATE.floating_pip}
    changes = by_name(plan_changes(CLUSTER, "fw-a", v))
    assert set(changes) == {"fw-b-untrust"}
    assert (changes["fw-b-untrust"].action, changes["fw-b-untrust"].phase) == ("detachPublicIp", 0)


def test_trust_nics_keep_their_load_balancer_pools_and_are_not_written() -> None:
    changes = plan_changes(CLUSTER, "fw-b", view(ESTATE.resources))
    assert not [c for c in changes if c.resource.endswith("-trust")]
    pools = [p for c in changes if c.kind == "nic" for ipc in c.body["properties"]["ipConfigurations"]
             for p in ipc["properties"].get("loadBalancerBackendAddressPools", [])]
    assert sorted(p["id"].rsplit("/", 1)[-1] for p in pools) == ["nva-untrust", "nva-untrust", "web"]  # kept, carried
    assert ILB not in json.dumps(pools)


def test_a_cluster_with_no_route_table_moves_only_its_ips() -> None:
    doc = copy.deepcopy(ESTATE.config)
    del doc["clusters"][0]["routeTables"]
    cluster = parse_config(doc).clusters[0]
    v = view(ESTATE.resources)
    changes = plan_changes(cluster, "fw-b", AzureView(v.nics, v.public_ips, {}))
    assert sorted(by_name(changes)) == ["fw-a-untrust", "fw-b-untrust"]


def test_an_ipv6_floating_ip() -> None:
    doc = copy.deepcopy(ESTATE.config)
    doc["clusters"][0]["floatingIps"].append({"name": "vip6", "interface": "untrust6", "privateIp": "FD00:1:0::10"})
    cluster = parse_config(doc).clusters[0]
    added = configs(by_name(plan_changes(cluster, "fw-b", view(ESTATE.resources)))["fw-b-untrust"])
    assert (added["vip6"]["privateIPAddress"], added["vip6"]["privateIPAddressVersion"]) == ("fd00:1::10", "IPv6")
