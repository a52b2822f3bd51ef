"""Azure's rules on IP configurations, in the emulated estate: private IPs held until the removal completes, one IPv4
primary per NIC, IPv6 configurations."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from emulation.arm.errors import ArmError
from emulation.arm.estate import ArmEstate
from emulation.arm.ids import parse
from emulation.estates import VIP, floating_estate
from emulation.topology import rid, sub_id

ESTATE = floating_estate({})
NIC_A, NIC_B = (rid(sub_id(1), "hub-rg", "networkInterfaces", n) for n in ("fw-a-untrust", "fw-b-untrust"))


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def world() -> tuple[ArmEstate, Clock]:
    clock = Clock()
    w = ArmEstate(clock)
    w.seed(ESTATE.resources)
    w.settings.latency = {"networkInterfaces.write": 5.0}
    return w, clock


def nic(w: ArmEstate, nic_id: str) -> dict[str, Any]:
    r = parse(nic_id)
    assert r is not None
    return w.get(r)


def put(w: ArmEstate, body: dict[str, Any]) -> None:
    r = parse(body["id"])
    assert r is not None
    w.put(r, body, None, None)


def without_vip(body: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(body)
    out["properties"]["ipConfigurations"] = [c for c in out["properties"]["ipConfigurations"] if c["name"] != "vip-web"]
    for c in out["properties"]["ipConfigurations"]:
        c["properties"].pop("publicIPAddress", None)
    return out


def with_vip(body: dict[str, Any], vip: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(body)
    vip = {"name": vip["name"], "properties": {k: v for k, v in vip["properties"].items() if k != "provisioningState"}}
    out["properties"]["ipConfigurations"].append(vip)
    return out


def test_a_private_ip_is_held_until_the_removing_write_completes(world: tuple[ArmEstate, Clock]) -> None:
    w, clock = world
    a = nic(w, NIC_A)
    vip = next(c for c in a["properties"]["ipConfigurations"] if c["name"] == "vip-web")
    vip["properties"].pop("publicIPAddress")  # only the private IP is in question here
    b = with_vip(nic(w, NIC_B), vip)
    with pytest.raises(ArmError) as err:
        put(w, b)
    assert (err.value.status, err.value.code) == (400, "PrivateIPAddressIsAllocated")
    assert err.value.message == (f"IP configuration {NIC_B}/ipConfigurations/vip-web is using the private IP address {VIP} "
                                 f"which is already allocated to resource {NIC_A}.")
    put(w, without_vip(a))  # the removal, running for 5 s
    clock.now = 4.9
    with pytest.raises(ArmError, match="already allocated to resource"):
        put(w, b)
    clock.now = 5.1
    put(w, b)
    clock.now = 20
    assert "vip-web" in [c["name"] for c in nic(w, NIC_B)["properties"]["ipConfigurations"]]


def test_the_same_address_in_another_virtual_network_is_free(world: tuple[ArmEstate, Clock]) -> None:
    w, _ = world
    vip = next(c for c in nic(w, NIC_A)["properties"]["ipConfigurations"] if c["name"] == "vip-web")
    vip["properties"].pop("publicIPAddress")
    vip["properties"]["subnet"] = {"id": rid(sub_id(1), "hub-rg", "virtualNetworks", "other-vnet") + "/subnets/untrust"}
    put(w, with_vip(nic(w, NIC_B), vip))


@pytest.mark.parametrize(("edit", "code"), [
    (lambda cs: cs[0]["properties"].update(primary=False) or cs[2]["properties"].update(primary=True),
     "CannotRemovePrimaryIpConfiguration"),
    (lambda cs: cs[1]["properties"].update(primary=True), "MultiplePrimaryIpConfigurationsOnNic"),
    (lambda cs: cs.pop(0) and cs[1]["properties"].update(primary=True), "CannotRemovePrimaryIpConfiguration"),
    (lambda cs: [c["properties"].update(primary=c["name"] == "ipconfig-v6") for c in cs], "PrimaryIpConfigurationMustBeIPv4"),
], ids=["primary demoted", "two primaries", "primary removed", "IPv6 primary"])
def test_a_nic_keeps_one_ipv4_primary(world: tuple[ArmEstate, Clock], edit: Any, code: str) -> None:
    w, _ = world
    body = nic(w, NIC_A)
    edit(body["properties"]["ipConfigurations"])
    with pytest.raises(ArmError) as err:
        put(w, body)
    assert (err.value.status, err.value.code) == (400, code)


def test_a_primary_not_declared_stays_where_it_was(world: tuple[ArmEstate, Clock]) -> None:
    w, clock = world
    body = nic(w, NIC_A)
    for c in body["properties"]["ipConfigurations"]:
        c["properties"].pop("primary")
    put(w, body)
    clock.now = 10
    assert [c["name"] for c in nic(w, NIC_A)["properties"]["ipConfigurations"] if c["properties"]["primary"]] == ["ipconfig1"]


def test_ipv6_configurations_get_ipv6_addresses(world: tuple[ArmEstate, Clock]) -> None:
    w, clock = world
    body = without_vip(nic(w, NIC_B))
    body["properties"]["ipConfigurations"].append({"name": "v6-dyn", "properties": {"privateIPAddressVersion": "IPv6"}})
    put(w, body)
    clock.now = 10
    added = {c["name"]: c["properties"] for c in nic(w, NIC_B)["properties"]["ipConfigurations"]}
    assert ":" in added["v6-dyn"]["privateIPAddress"] and added["v6-dyn"]["privateIPAddressVersion"] == "IPv6"
    assert added["ipconfig-v6"]["privateIPAddress"] == "fd00:1::5"
