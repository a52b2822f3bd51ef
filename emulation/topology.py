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
    pinned_tables: list[str] = field(default_factory=list)  # point at the cluster's NVAs, but are not managed
    management_ips: list[str] = field(default_factory=list)  # each appliance's own public IP: never moves

    @property
    def all_tables(self) -> list[str]:
        return self.listed_tables + self.discovered_tables

    def in_scope(self) -> set[str]:
        """Lower-case ids of what a failover of this cluster may write: its NICs, its public IP, its managed tables."""
        nic_ids = {nic for legs in self.nics.values() for nic in legs.values()}
        return {i.lower() for i in (*nic_ids, self.public_ip, *self.all_tables)}


def _ipconfig(sub: str, name: str, leg: str, ip: str, public_ip: str | None, primary: bool) -> dict[str, Any]:
    ipconfig: dict[str, Any] = {
        "name": name,
        "properties": {
            "primary": primary,
            "privateIPAddress": ip,
            "privateIPAllocationMethod": "Static",
            "subnet": {"id": rid(sub, "hub-rg", "virtualNetworks", "hub-vnet") + f"/subnets/{leg}"},
        },
    }
    if public_ip:
        ipconfig["properties"]["publicIPAddress"] = {"id": public_ip}
    return ipconfig


def lb_and_asg_references(sub: str, leg: str) -> dict[str, Any]:
    """An appliance leg behind an HA-ports internal load balancer, in an application security group (option `behind_lb`)."""
    lb = rid(sub, "hub-rg", "loadBalancers", f"{leg}-ilb")
    return {
        "applicationSecurityGroups": [{"id": rid(sub, "hub-rg", "applicationSecurityGroups", f"nva-{leg}-asg")}],
        "loadBalancerBackendAddressPools": [{"id": f"{lb}/backendAddressPools/nva-pool"}],
    }


def _secondary_ip(ip: str) -> str:
    """A second address in the leg's subnet (10.0.1.4 -> 10.0.1.104): appliances keep one for management."""
    head, _, last = ip.rpartition(".")
    return f"{head}.{int(last) + 100}"


def _nic(sub: str, nva: str, leg: str, ip: str, public_ip: str | None, management_ip: str | None = None) -> dict[str, Any]:
    nic_id = rid(sub, "hub-rg", "networkInterfaces", f"{nva}-{leg}")
    ipconfigs = [_ipconfig(sub, "ipconfig1", leg, ip, public_ip, True),
                 _ipconfig(sub, "ipconfig-mgmt", leg, _secondary_ip(ip), management_ip, False)]
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
            "ipConfigurations": ipconfigs,
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


def _public_ip(pip_id: str, address: str) -> dict[str, Any]:
    return {
        "id": pip_id,
        "location": LOCATION,
        "sku": {"name": "Standard", "tier": "Regional"},
        "properties": {"publicIPAllocationMethod": "Static", "publicIPAddressVersion": "IPv4", "ipAddress": address,
                       "idleTimeoutInMinutes": 4},
    }


def _other_routes(table_id: str, hop: str, name: str = "via-other-nva") -> dict[str, Any]:
    return {"id": table_id, "location": LOCATION, "properties": {"routes": [
        {"name": name, "properties": {"addressPrefix": "0.0.0.0/0", "nextHopType": "VirtualAppliance", "nextHopIpAddress": hop}},
        {"name": "internet-direct", "properties": {"addressPrefix": "20.38.0.0/16", "nextHopType": "Internet"}},
    ]}}


def hub(
    nvas: list[NvaSpec],
    subscriptions: int = 2,
    listed_per_sub: int = 1,
    discovered_per_sub: int = 1,
    cluster: str = "hub-fw",
    pinned: bool = True,
    filler_per_sub: int = 3,
    behind_lb: bool = False,
) -> Hub:
    """A cluster of NVAs (the first active, holding the public IP, and the next hop of every owned route), shaped like a
    production hub rather than a tidy one.

    Subscription 1 holds the hub and is not discovered: its tables are managed only when configured. Every subscription
    holds `listed_per_sub` configured route tables; the others (2…n) are discovered and hold `discovered_per_sub` tables
    found only by discovery. Beside them: in subscription 1's spoke resource group, tables that point at the cluster's
    NVAs but are not managed (`pinned`: one pinned to the active on purpose, one to the standby's trust leg); in every
    subscription, one table of routes to another appliance and `filler_per_sub` more, so that lists page. Each NIC has a
    second IP configuration, and each appliance's untrust NIC holds the appliance's own management public IP on it.
    `behind_lb`: each NIC's primary IP configuration also sits in an internal load balancer's backend pool and an ASG.
    """
    subs = [sub_id(i + 1) for i in range(subscriptions)]
    hub_sub = subs[0]
    discovering = subs[1:]
    pip = rid(hub_sub, "hub-rg", "publicIPAddresses", f"{cluster}-pip")
    resources: list[dict[str, Any]] = [_public_ip(pip, "20.50.0.10")]
    nics: dict[str, dict[str, str]] = {}
    management: list[str] = []
    active = nvas[0]
    for n, nva in enumerate(nvas):
        nics[nva.name] = {}
        mgmt = rid(hub_sub, "hub-rg", "publicIPAddresses", f"{nva.name}-mgmt-pip")
        resources.append(_public_ip(mgmt, f"20.50.1.{10 + n}"))
        management.append(mgmt)
        for leg, ip in nva.ips.items():
            body = _nic(hub_sub, nva.name, leg, ip, pip if n == 0 and leg == "untrust" else None,
                        mgmt if leg == "untrust" else None)
            if behind_lb:
                body["properties"]["ipConfigurations"][0]["properties"].update(lb_and_asg_references(hub_sub, leg))
            resources.append(body)
            nics[nva.name][leg] = body["id"]
    listed: list[str] = []
    discovered: list[str] = []
    unrelated: list[str] = []
    pinned_tables: list[str] = []
    hop = active.ips["trust"]
    for s, sub in enumerate(subs):
        for i in range(listed_per_sub):
            listed.append(rid(sub, "spoke-rg", "routeTables", f"spoke{s + 1}-listed{i + 1}-rt"))
        if sub in discovering:
            for i in range(discovered_per_sub):
                discovered.append(rid(sub, "spoke-rg", "routeTables", f"spoke{s + 1}-found{i + 1}-rt"))
        unrelated.append(rid(sub, "spoke-rg", "routeTables", f"spoke{s + 1}-unrelated-rt"))
        unrelated += [rid(sub, "filler-rg", "routeTables", f"spoke{s + 1}-filler{i + 1}-rt") for i in range(filler_per_sub)]
    for seed, table in enumerate(listed + discovered, start=1):
        resources.append(_route_table(table, hop, seed))
    for table in unrelated:
        resources.append(_other_routes(table, UNRELATED_HOP))
    if pinned and len(nvas) > 1:
        # The same resource group as configured tables, pointing at this cluster's NVAs: managed by nobody here.
        pinned_tables = [rid(hub_sub, "spoke-rg", "routeTables", "spoke1-pinned-active-rt"),
                         rid(hub_sub, "spoke-rg", "routeTables", "spoke1-pinned-standby-rt")]
        resources.append(_other_routes(pinned_tables[0], hop, "pinned-to-active"))
        resources.append(_other_routes(pinned_tables[1], nvas[1].ips["trust"], "pinned-to-standby"))
    config: dict[str, Any] = {
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
        }],
    }
    if discovering and discovered_per_sub:
        config["clusters"][0]["discoverRouteTables"] = {"subscriptions": discovering}
    return Hub(resources, config, subs, nics, pip, listed, discovered, unrelated, pinned_tables, management)


def two_firewalls(probes: dict[str, dict[str, Any]] | None = None, **kwargs: Any) -> Hub:
    """The usual pair: fw-a (active) and fw-b, each with an untrust and a trust leg."""
    probes = probes or {}
    return hub([
        NvaSpec("fw-a", {"untrust": "10.0.1.4", "trust": "10.0.2.4"}, probes.get("fw-a", {})),
        NvaSpec("fw-b", {"untrust": "10.0.1.5", "trust": "10.0.2.5"}, probes.get("fw-b", {})),
    ], **kwargs)
