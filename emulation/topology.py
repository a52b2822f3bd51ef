"""Seed topologies: a hub with NVAs, their NICs and public IP, and spoke route tables across subscriptions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

NET = "providers/Microsoft.Network"
LOCATION = "westeurope"
UNRELATED_HOP = "10.9.9.9"


def sub_id(n: int) -> str:
    return f"00000000-0000-0000-0000-{n:012d}"


def rid(sub: str, group: str, kind: str, name: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{group}/{NET}/{kind}/{name}"


@dataclass
class NvaSpec:
    """One appliance: its name, the private IP of each interface, and where it answers probes."""

    name: str
    ips: dict[str, str]
    probe: dict[str, Any] = field(default_factory=dict)


@dataclass
class Hub:
    """A seeded hub: the ARM resources to load into the emulator and the product configuration that manages them."""

    resources: list[dict[str, Any]]
    config: dict[str, Any]
    subscriptions: list[str]
    nics: dict[str, dict[str, str]]  # nva -> interface -> NIC id
    public_ip: str
    listed_tables: list[str]
    discovered_tables: list[str]
    unrelated_tables: list[str]

    @property
    def all_tables(self) -> list[str]:
        return self.listed_tables + self.discovered_tables


def lb_and_asg_references(sub: str, leg: str) -> dict[str, Any]:
    """An appliance leg behind an HA-ports internal load balancer, in an application security group (option `behind_lb`)."""
    lb = rid(sub, "hub-rg", "loadBalancers", f"{leg}-ilb")
    return {
        "applicationSecurityGroups": [{"id": rid(sub, "hub-rg", "applicationSecurityGroups", f"nva-{leg}-asg")}],
        "loadBalancerBackendAddressPools": [{"id": f"{lb}/backendAddressPools/nva-pool"}],
    }


def _nic(sub: str, nva: str, leg: str, ip: str, public_ip: str | None, behind_lb: bool = False) -> dict[str, Any]:
    nic_id = rid(sub, "hub-rg", "networkInterfaces", f"{nva}-{leg}")
    ipconfig: dict[str, Any] = {
        "name": "ipconfig1",
        "properties": {
            "privateIPAddress": ip,
            "privateIPAllocationMethod": "Static",
            "subnet": {"id": rid(sub, "hub-rg", "virtualNetworks", "hub-vnet") + f"/subnets/{leg}"},
        },
    }
    if public_ip:
        ipconfig["properties"]["publicIPAddress"] = {"id": public_ip}
    if behind_lb:
        ipconfig["properties"].update(lb_and_asg_references(sub, leg))
    return {
        "id": nic_id,
        "location": LOCATION,
        "tags": {"role": "nva", "leg": leg},
        "properties": {
            "enableIPForwarding": True,
            "enableAcceleratedNetworking": True,
            "networkSecurityGroup": {"id": rid(sub, "hub-rg", "networkSecurityGroups", f"{leg}-nsg")},
            "dnsSettings": {"dnsServers": ["168.63.129.16"], "internalDnsNameLabel": f"{nva}-{leg}"},
            "macAddress": "00-0D-3A-00-00-01",
            "nvaUnmodelledSetting": {"keep": "me", "level": 3},
            "ipConfigurations": [ipconfig],
        },
    }


def _route_table(table_id: str, owned_hop: str, prefix_seed: int) -> dict[str, Any]:
    return {
        "id": table_id,
        "location": LOCATION,
        "tags": {"owner": "network-team"},
        "properties": {
            "disableBgpRoutePropagation": True,
            "routes": [
                {"name": "default-via-fw", "properties": {
                    "addressPrefix": "0.0.0.0/0", "nextHopType": "VirtualAppliance", "nextHopIpAddress": owned_hop}},
                {"name": "onprem-via-fw", "properties": {
                    "addressPrefix": f"192.168.{prefix_seed % 250}.0/24", "nextHopType": "VirtualAppliance",
                    "nextHopIpAddress": owned_hop}},
                {"name": "kms-direct", "properties": {"addressPrefix": "20.118.99.224/32", "nextHopType": "Internet"}},
                {"name": "via-other-nva", "properties": {
                    "addressPrefix": "172.16.0.0/12", "nextHopType": "VirtualAppliance", "nextHopIpAddress": UNRELATED_HOP}},
            ],
        },
    }


def hub(
    nvas: list[NvaSpec],
    subscriptions: int = 2,
    listed_per_sub: int = 1,
    discovered_per_sub: int = 1,
    cluster: str = "hub-fw",
    behind_lb: bool = False,
) -> Hub:
    """A cluster of NVAs (the first active, holding the public IP, and the next hop of every owned route).

    Subscription 1 holds the hub; every subscription holds `listed_per_sub` route tables named in the
    configuration and `discovered_per_sub` found only by discovery, plus one table of unrelated routes.
    `behind_lb`: every NIC leg also references an internal load balancer's backend pool and an application security group.
    """
    subs = [sub_id(i + 1) for i in range(subscriptions)]
    hub_sub = subs[0]
    pip = rid(hub_sub, "hub-rg", "publicIPAddresses", f"{cluster}-pip")
    resources: list[dict[str, Any]] = [{
        "id": pip,
        "location": LOCATION,
        "sku": {"name": "Standard", "tier": "Regional"},
        "properties": {"publicIPAllocationMethod": "Static", "publicIPAddressVersion": "IPv4", "ipAddress": "20.50.0.10",
                       "idleTimeoutInMinutes": 4},
    }]
    nics: dict[str, dict[str, str]] = {}
    active = nvas[0]
    for n, nva in enumerate(nvas):
        nics[nva.name] = {}
        for leg, ip in nva.ips.items():
            body = _nic(hub_sub, nva.name, leg, ip, pip if n == 0 and leg == "untrust" else None, behind_lb)
            resources.append(body)
            nics[nva.name][leg] = body["id"]
    listed: list[str] = []
    discovered: list[str] = []
    unrelated: list[str] = []
    hop = active.ips["trust"]
    for s, sub in enumerate(subs):
        for i in range(listed_per_sub):
            listed.append(rid(sub, "spoke-rg", "routeTables", f"spoke{s + 1}-listed{i + 1}-rt"))
        for i in range(discovered_per_sub):
            discovered.append(rid(sub, "spoke-rg", "routeTables", f"spoke{s + 1}-found{i + 1}-rt"))
        unrelated.append(rid(sub, "spoke-rg", "routeTables", f"spoke{s + 1}-unrelated-rt"))
    for seed, table in enumerate(listed + discovered, start=1):
        resources.append(_route_table(table, hop, seed))
    for table in unrelated:
        resources.append({
            "id": table, "location": LOCATION, "properties": {"routes": [
                {"name": "via-other-nva", "properties": {
                    "addressPrefix": "0.0.0.0/0", "nextHopType": "VirtualAppliance", "nextHopIpAddress": UNRELATED_HOP}},
            ]},
        })
    config = {
        "clusters": [{
            "name": cluster,
            "nvas": [
                {
                    "name": nva.name,
                    "probe": nva.probe,
                    "interfaces": {leg: f"{nics[nva.name][leg]}/ipConfigurations/ipconfig1" for leg in nva.ips},
                }
                for nva in nvas
            ],
            "preferred": active.name,
            "publicIps": [{"id": pip, "interface": "untrust"}],
            "routeTables": listed,
            "discoverRouteTables": {"subscriptions": subs} if discovered_per_sub else None,
        }],
    }
    if not discovered_per_sub:
        del config["clusters"][0]["discoverRouteTables"]
    return Hub(resources, config, subs, nics, pip, listed, discovered, unrelated)


def two_firewalls(probes: dict[str, dict[str, Any]] | None = None, **kwargs: Any) -> Hub:
    """The usual pair: fw-a (active) and fw-b, each with an untrust and a trust leg."""
    probes = probes or {}
    return hub([
        NvaSpec("fw-a", {"untrust": "10.0.1.4", "trust": "10.0.2.4"}, probes.get("fw-a", {})),
        NvaSpec("fw-b", {"untrust": "10.0.1.5", "trust": "10.0.2.5"}, probes.get("fw-b", {})),
    ], **kwargs)
