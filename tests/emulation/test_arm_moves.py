"""The emulated IP configuration move (emulation/arm/moves.py) and feature registration (features.py) through the SDK."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.identity import ManagedIdentityCredential
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.network.models import MoveIpConfigurationItem, MoveIpConfigurationResourceReference, MoveIpConfigurationsRequest

from emulation.estates import SUB, VIP, floating_estate
from emulation.harness import ArmEmulator

ESTATE = floating_estate({"fw-a": {"url": "http://127.0.0.1:1/"}, "fw-b": {"url": "http://127.0.0.1:1/"}})
NICS = "/subscriptions/{s}/resourceGroups/hub-rg/providers/Microsoft.Network/networkInterfaces/"
FEATURE = f"/subscriptions/{SUB}/providers/Microsoft.Features/providers/Microsoft.Network/features/AllowMoveIpConfigurations"


def client(arm: ArmEmulator) -> NetworkManagementClient:
    return NetworkManagementClient(ManagedIdentityCredential(), SUB, base_url=arm.arm_url, polling_interval=0.05)


@pytest.fixture
def seeded(arm: ArmEmulator) -> ArmEmulator:
    arm.control.seed(ESTATE.resources)
    arm.control.settings(latency={"virtualNetworks.moveIpConfigurations": 0.6}, retry_after=0)
    return arm


def request(source: str = "fw-a-untrust", target: str = "fw-b-untrust") -> MoveIpConfigurationsRequest:
    base = NICS.format(s=SUB)
    return MoveIpConfigurationsRequest(move_ip_configuration_items=[MoveIpConfigurationItem(
        source_ip_configuration=MoveIpConfigurationResourceReference(id=f"{base}{source}/ipConfigurations/vip-web"),
        target_ip_configuration=MoveIpConfigurationResourceReference(id=f"{base}{target}/ipConfigurations/vip-web"))])


def vip_holders(arm: ArmEmulator) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for key, body in arm.control.snapshot().items():
        for c in body.get("properties", {}).get("ipConfigurations", []):
            if c["name"] == "vip-web":
                out.append((key.rsplit("/", 1)[-1], c["properties"]))
    return out


def feature_state(arm: ArmEmulator) -> str:
    token = ManagedIdentityCredential().get_token("https://management.azure.com/.default").token
    resp = requests.get(f"{arm.arm_url}{FEATURE}", params={"api-version": "2021-07-01"}, verify=arm.ca_path, timeout=10,
                        headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["name"] == "Microsoft.Network/AllowMoveIpConfigurations" and body["type"] == "Microsoft.Features/providers/features"
    return str(body["properties"]["state"])


def test_without_the_feature_the_move_is_refused_and_nothing_moves(seeded: ArmEmulator) -> None:
    assert feature_state(seeded) == "NotRegistered"
    with pytest.raises(HttpResponseError) as refused:
        client(seeded).virtual_networks.begin_move_ip_configurations("hub-rg", "hub-vnet", request()).result()
    assert refused.value.status_code == 400 and getattr(refused.value.error, "code", None) == "SubscriptionNotRegisteredForFeature"
    assert [h for h, _ in vip_holders(seeded)] == ["fw-a-untrust"]


def test_the_move_is_one_operation_and_the_vip_is_on_exactly_one_nic_throughout(seeded: ArmEmulator) -> None:
    seeded.control.feature(SUB)
    assert feature_state(seeded) == "Registered"
    seen: list[list[str]] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            seen.append([h for h, _ in vip_holders(seeded)])
            time.sleep(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        client(seeded).virtual_networks.begin_move_ip_configurations("hub-rg", "hub-vnet", request()).result()
    finally:
        stop.set()
        watcher.join()
    assert seen and all(len(h) == 1 for h in seen), seen
    holders = vip_holders(seeded)
    assert [h for h, _ in holders] == ["fw-b-untrust"]
    props = holders[0][1]
    assert props["privateIPAddress"] == VIP and props["primary"] is False
    assert props["publicIPAddress"]["id"] == ESTATE.floating_pip  # carried, by default
    assert props["applicationSecurityGroups"] == [{"id": ESTATE.asg}]
    writes = [r for r in seeded.control.requests() if r["method"] == "POST"]
    assert [w["operation"] for w in writes] == ["VirtualNetworks_MoveIpConfigurations"]
    pip = client(seeded).public_ip_addresses.get("hub-rg", "web-pip")
    assert pip.ip_configuration.id.lower().endswith("fw-b-untrust/ipconfigurations/vip-web")


def test_a_move_that_does_not_carry_the_public_ip_leaves_it_on_no_nic(seeded: ArmEmulator) -> None:
    seeded.control.feature(SUB)
    seeded.control.moves(leaves=["publicIPAddress", "applicationSecurityGroups"])
    client(seeded).virtual_networks.begin_move_ip_configurations("hub-rg", "hub-vnet", request()).result()
    (holder, props), = vip_holders(seeded)
    assert holder == "fw-b-untrust" and "publicIPAddress" not in props and "applicationSecurityGroups" not in props
    assert props["loadBalancerBackendAddressPools"]  # what the switch does not name is carried
    assert client(seeded).public_ip_addresses.get("hub-rg", "web-pip").ip_configuration is None


@pytest.mark.parametrize(("source", "target", "vnet", "code"), [
    ("fw-a-untrust", "fw-a-untrust", "hub-vnet", "IpConfigurationAlreadyExists"),
    ("fw-b-untrust", "fw-a-untrust", "hub-vnet", "InvalidResourceReference"),
    ("fw-a-untrust", "fw-b-untrust", "other-vnet", "IpConfigurationNotInVirtualNetwork"),
])
def test_a_move_azure_would_refuse_changes_nothing(seeded: ArmEmulator, source: str, target: str, vnet: str, code: str) -> None:
    seeded.control.feature(SUB)
    before = {k: v for k, v in seeded.control.snapshot().items()}
    with pytest.raises(HttpResponseError) as refused:
        client(seeded).virtual_networks.begin_move_ip_configurations("hub-rg", vnet, request(source, target)).result()
    assert getattr(refused.value.error, "code", None) == code
    assert seeded.control.snapshot() == before


def test_the_move_needs_its_action_on_the_virtual_network(seeded: ArmEmulator) -> None:
    seeded.control.feature(SUB)
    group = f"/subscriptions/{SUB}/resourceGroups/hub-rg"
    seeded.control.rbac({"system-assigned": [{"scope": group, "actions": ["Microsoft.Network/networkInterfaces/*"]}]})
    with pytest.raises(HttpResponseError) as refused:
        client(seeded).virtual_networks.begin_move_ip_configurations("hub-rg", "hub-vnet", request()).result()
    assert refused.value.status_code == 403
    assert "Microsoft.Network/virtualNetworks/moveIpConfigurations/action" in str(refused.value)
