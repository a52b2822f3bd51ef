"""The emulator answers GET NIC, public IP, route table and route with the keys and casing of Azure's spec examples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from emulation.harness import ArmEmulator

SPECS = Path(__file__).resolve().parents[1] / "data" / "azure-specs" / "2026-03-01" / "examples"  # vendored: see its README
# Read-only keys the swagger defines for these models that the examples happen to leave out.
SPEC_DEFINED_EXTRAS = {"etag", "type", "hasBgpOverride", "resourceGuid",
                       # NIC service defaults Azure always answers with (issue 16; emulation/arm/strict.py).
                       "nicType", "hostedWorkloads", "tapConfigurations"}


def example(name: str) -> dict[str, Any]:
    return dict(json.loads((SPECS / name).read_text())["responses"]["200"]["body"])


def key_paths(value: Any, prefix: str = "") -> set[str]:
    """Every key path in a JSON value, lists folded to [] (so ipConfigurations[].properties.subnet.id)."""
    paths: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{prefix}.{key}" if prefix else key
            paths.add(path)
            paths |= key_paths(item, path)
    elif isinstance(value, list):
        for item in value:
            paths |= key_paths(item, f"{prefix}[]")
    return paths


def get(arm: ArmEmulator, resource_id: str) -> dict[str, Any]:
    resp = requests.get(
        f"{arm.arm_url}{resource_id}", params={"api-version": "2026-03-01"},
        headers={"Authorization": f"Bearer {arm.control.token('spec-check')}"}, verify=arm.ca_path, timeout=10,
    )
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


@pytest.fixture(scope="module")
def examples() -> dict[str, dict[str, Any]]:
    if not SPECS.is_dir():
        pytest.fail(f"the spec examples are missing at {SPECS}")
    return {n: example(n) for n in ("NetworkInterfaceGet.json", "PublicIpAddressGet.json", "RouteTableGet.json",
                                    "RouteTableRouteGet.json")}


@pytest.mark.parametrize("name", ["NetworkInterfaceGet.json", "PublicIpAddressGet.json", "RouteTableGet.json"])
def test_get_answers_with_the_example_keys_and_casing(arm: ArmEmulator, examples: dict[str, dict[str, Any]], name: str) -> None:
    nic, pip, table = (examples[n] for n in ("NetworkInterfaceGet.json", "PublicIpAddressGet.json", "RouteTableGet.json"))
    sub_rg = "/".join(nic["id"].split("/")[:5]) + "/providers/Microsoft.Network"
    holder = {  # the NIC the public IP example says holds it
        "id": f"{sub_rg}/networkInterfaces/testDNS649", "location": "westus",
        "properties": {"ipConfigurations": [{"name": "ipconfig1", "properties": {"publicIPAddress": {"id": pip["id"]}}}]},
    }
    test_ip = {"id": f"{sub_rg}/publicIPAddresses/test-ip", "location": "eastus", "properties": {}}
    arm.control.seed([pip, test_ip, holder, nic, table])
    want = examples[name]
    got = get(arm, want["id"])
    want_paths, got_paths = key_paths(want), key_paths(got)
    assert want_paths <= got_paths, f"missing: {sorted(want_paths - got_paths)}"
    extras = {p for p in got_paths - want_paths if p.split(".")[-1] not in SPEC_DEFINED_EXTRAS}
    assert not extras, f"keys the example does not have: {sorted(extras)}"
    assert got["properties"]["provisioningState"] == "Succeeded"


def test_route_get_matches_the_example(arm: ArmEmulator, examples: dict[str, dict[str, Any]]) -> None:
    route = examples["RouteTableRouteGet.json"]
    table_id = route["id"].rsplit("/routes/", 1)[0]
    arm.control.seed([{"id": table_id, "location": "westus", "properties": {"routes": [
        {"name": route["name"], "properties": {k: v for k, v in route["properties"].items() if k != "provisioningState"}}]}}])
    got = get(arm, route["id"])
    assert key_paths(route) <= key_paths(got)
    assert got["properties"] == {**route["properties"], "hasBgpOverride": False}
