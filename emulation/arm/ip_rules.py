"""Azure's rules on IP configurations: one IPv4 primary per NIC; private and public IPs held until freed."""

from __future__ import annotations

import ipaddress
from typing import Any

from .errors import bad_request
from .ids import parse
from .strict import Body

NIC_TYPE = "Microsoft.Network/networkInterfaces"


def pip_holders(resources: dict[str, Body], pending: list[Body], pip_key: str, exclude_nic: str | None = None) -> list[str]:
    """IP configurations holding a public IP: those referencing it now, and any whose detach is still running
    (`pending`: the NICs as they were before each NIC write still running)."""
    holders: list[str] = []
    bodies = [b for k, b in resources.items() if b["type"] == NIC_TYPE and k != exclude_nic]
    for body in bodies + pending:
        for ipc in body["properties"].get("ipConfigurations", []):
            ref = ((ipc.get("properties") or {}).get("publicIPAddress") or {}).get("id")
            if ref and ref.lower() == pip_key and ipc["id"] not in holders:
                holders.append(ipc["id"])
    return holders


def check_public_ip_references(nic: Body, resources: dict[str, Body], pending: list[Body]) -> None:
    """Each public IP a NIC references exists, and no other IP configuration holds it."""
    for ipc in nic["properties"].get("ipConfigurations", []):
        ref = ((ipc.get("properties") or {}).get("publicIPAddress") or {}).get("id")
        if not ref:
            continue
        pip = parse(ref)
        if pip is None or pip.type != "publicIPAddresses" or pip.key not in resources:
            raise bad_request(
                "InvalidResourceReference",
                f"Resource {ref} referenced by resource {ipc['id']} was not found. "
                "Please make sure that the referenced resource exists, and that both resources are in the same region.",
            )
        others = pip_holders(resources, pending, pip.key, exclude_nic=nic["id"].lower())
        if others:
            raise bad_request(
                "PublicIPAddressInUse",
                f"Resource {resources[pip.key]['id']} is referenced by resource {others[0]}. "
                f"It cannot be used by {ipc['id']}.",
            )


def check_private_ips(nic: Body, resources: dict[str, Body], pending: list[Body]) -> None:
    """A private IP stays with the IP configuration holding it until the write that removes it has completed."""
    held: dict[tuple[str, Any], str] = {}
    others = [b for k, b in resources.items() if b["type"] == NIC_TYPE and k != nic["id"].lower()]
    for body in others + [b for b in pending if b["id"].lower() != nic["id"].lower()]:
        for ipc in body["properties"].get("ipConfigurations", []):
            held.setdefault(ip_key(ipc), body["id"])
    for ipc in nic["properties"].get("ipConfigurations", []):
        owner = held.get(ip_key(ipc))
        if owner is not None and ip_key(ipc)[1] is not None:
            raise bad_request(
                "PrivateIPAddressIsAllocated",
                f"IP configuration {ipc['id']} is using the private IP address {ipc['properties']['privateIPAddress']} "
                f"which is already allocated to resource {owner}.",
            )


def ip_key(ipc: Body) -> tuple[str, Any]:
    """A private IP as an address, within its virtual network (the subnet id without /subnets/…)."""
    props = ipc.get("properties") or {}
    vnet = str((props.get("subnet") or {}).get("id", "")).lower().split("/subnets/")[0]
    try:
        return vnet, ipaddress.ip_address(str(props.get("privateIPAddress", "")))
    except ValueError:
        return vnet, None


def check_primary(nic_id: str, configs: list[Body], old: dict[str, Body]) -> None:
    """A NIC keeps exactly one primary IP configuration, an IPv4 one, and the primary cannot be removed or demoted."""
    primaries = [c for c in configs if c["properties"].get("primary") is True]
    if not primaries:  # none declared: the one that was primary stays so (the first, on a new NIC)
        was_primary = {n for n, c in old.items() if (c.get("properties") or {}).get("primary") is True}
        first = next((c for c in configs if c["name"].lower() in was_primary), None if was_primary else configs[0])
        if first is not None:
            first["properties"]["primary"] = True
            primaries = [first]
    for c in configs:
        c["properties"].setdefault("primary", False)
    if len(primaries) > 1:
        raise bad_request("MultiplePrimaryIpConfigurationsOnNic",
                          f"Network interface {nic_id} must have exactly one primary IP configuration; found {len(primaries)}.")
    if primaries and primaries[0]["properties"]["privateIPAddressVersion"] == "IPv6":
        raise bad_request("PrimaryIpConfigurationMustBeIPv4",
                          f"The primary IP configuration {primaries[0]['id']} of network interface {nic_id} must be IPv4.")
    was = next((c for c in old.values() if (c.get("properties") or {}).get("primary") is True), None)
    if was is not None and (not primaries or was["name"].lower() != primaries[0]["name"].lower()):
        raise bad_request("CannotRemovePrimaryIpConfiguration",
                          f"IP configuration {was['id']} is the primary IP configuration of network interface {nic_id} "
                          "and cannot be removed or made secondary.")
