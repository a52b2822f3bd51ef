"""Seed estates beyond the plain hub: a dual-stack pair with a floating VIP, ASGs, load balancer pools and a route filter."""

from __future__ import annotations

import copy
import ipaddress
from dataclasses import dataclass, replace
from typing import Any

from .topology import LOCATION, Hub, rid, sub_id

SUB = sub_id(1)
VNET = rid(SUB, "hub-rg", "virtualNetworks", "hub-vnet")
ILB = rid(SUB, "hub-rg", "loadBalancers", "nva-ilb")
PLB = rid(SUB, "hub-rg", "loadBalancers", "web-plb")
ILB_FRONTEND = "10.0.2.100"
VIP = "10.0.1.10"
# The IPv6 next hop as an operator might write it: expanded zeros and capitals (fd00:2::4).
V6_HOP_WRITTEN = "FD00:0002:0000:0000:0000:0000:0000:0004"


@dataclass
class Estate(Hub):
    """A hub whose appliances own a floating VIP (with its public IP, ASG and load balancer pool) and IPv6 legs."""

    floating_pip: str = ""
    ipv6_pip: str = ""
    asg: str = ""
    vip_table: str = ""
    excluded_route: str = ""


def _ipc(name: str, ip: str, leg: str, primary: bool, **extra: Any) -> dict[str, Any]:
    return {"name": name, "properties": {
        "privateIPAddress": ip, "privateIPAllocationMethod": "Static", "primary": primary,
        "privateIPAddressVersion": "IPv6" if ":" in ip else "IPv4", "subnet": {"id": f"{VNET}/subnets/{leg}"}, **extra}}


def _route(name: str, prefix: str, hop: str | None) -> dict[str, Any]:
    props: dict[str, Any] = {"addressPrefix": prefix, "nextHopType": "VirtualAppliance" if hop else "Internet"}
    if hop:
        props["nextHopIpAddress"] = hop
    return {"name": name, "properties": props}


def floating_estate(probes: dict[str, dict[str, Any]], cluster: str = "hub-fw") -> Estate:
    """fw-a (active) and fw-b, each with an untrust and a trust NIC, both dual-stack; their trust NICs sit in the
    backend pools of an internal HA-ports load balancer (frontend 10.0.2.100), their untrust NICs in a public load
    balancer's pool (written on every failover: membership must survive). fw-a's untrust NIC holds the
    floating VIP 10.0.1.10 as IP configuration `vip-web`, with the public IP web-pip, the ASG web-asg and the
    public load balancer's pool. Legs: untrust, untrust6, trust, trust6."""
    pip = rid(SUB, "hub-rg", "publicIPAddresses", f"{cluster}-pip")
    pip6 = rid(SUB, "hub-rg", "publicIPAddresses", f"{cluster}-pip6")
    web_pip = rid(SUB, "hub-rg", "publicIPAddresses", "web-pip")
    asg = rid(SUB, "hub-rg", "applicationSecurityGroups", "web-asg")
    resources: list[dict[str, Any]] = [
        {"id": p, "location": LOCATION, "sku": {"name": "Standard", "tier": "Regional"},
         "properties": {"publicIPAllocationMethod": "Static", "publicIPAddressVersion": version, "ipAddress": ip}}
        for p, version, ip in ((pip, "IPv4", "20.50.0.10"), (pip6, "IPv6", "2603:1020::10"), (web_pip, "IPv4", "20.50.0.20"))
    ]
    nics: dict[str, dict[str, str]] = {}
    for n, (nva, host) in enumerate((("fw-a", 4), ("fw-b", 5))):
        untrust = [_ipc("ipconfig1", f"10.0.1.{host}", "untrust", True,
                        loadBalancerBackendAddressPools=[{"id": f"{PLB}/backendAddressPools/nva-untrust"}]),
                   _ipc("ipconfig-v6", f"fd00:1::{host}", "untrust", False)]
        trust = [_ipc("ipconfig1", f"10.0.2.{host}", "trust", True,
                      loadBalancerBackendAddressPools=[{"id": f"{ILB}/backendAddressPools/nva-trust"}]),
                 _ipc("ipconfig-v6", f"fd00:2::{host}", "trust", False,
                      loadBalancerBackendAddressPools=[{"id": f"{ILB}/backendAddressPools/nva-trust-v6"}])]
        if n == 0:
            untrust[0]["properties"]["publicIPAddress"] = {"id": pip}
            untrust[1]["properties"]["publicIPAddress"] = {"id": pip6}
            untrust.append(_ipc("vip-web", VIP, "untrust", False, publicIPAddress={"id": web_pip},
                                applicationSecurityGroups=[{"id": asg}],
                                loadBalancerBackendAddressPools=[{"id": f"{PLB}/backendAddressPools/web"}]))
        nics[nva] = {}
        for leg, configs in (("untrust", untrust), ("trust", trust)):
            nic_id = rid(SUB, "hub-rg", "networkInterfaces", f"{nva}-{leg}")
            nics[nva][leg] = nics[nva][f"{leg}6"] = nic_id
            resources.append({"id": nic_id, "location": LOCATION, "tags": {"role": "nva", "leg": leg}, "properties": {
                "enableIPForwarding": True, "enableAcceleratedNetworking": True,
                "networkSecurityGroup": {"id": rid(SUB, "hub-rg", "networkSecurityGroups", f"{leg}-nsg")},
                "ipConfigurations": configs}})
    spoke1, spoke2, vip_table = (rid(SUB, "spoke-rg", "routeTables", n) for n in ("spoke1-rt", "spoke2-rt", "vip-rt"))
    resources += [
        {"id": spoke1, "location": LOCATION, "tags": {"owner": "network-team"}, "properties": {
            "disableBgpRoutePropagation": True, "routes": [
                _route("default-via-fw", "0.0.0.0/0", "10.0.2.4"),
                _route("default6-via-fw", "::/0", V6_HOP_WRITTEN),
                _route("onprem-via-fw", "192.168.0.0/16", "10.0.2.4"),
                _route("mgmt-via-fw-a", "10.99.0.0/16", "10.0.2.4"),
                _route("storage-via-fw-a", "Storage", "10.0.2.4"),
                _route("pinned-via-fw-a", "10.98.0.0/24", "10.0.2.4"),
                _route("to-vip", "10.50.0.0/16", VIP),
                _route("to-ilb", "10.60.0.0/16", ILB_FRONTEND),
                _route("kms-direct", "20.118.99.224/32", None)]}},
        {"id": spoke2, "location": LOCATION, "properties": {"routes": [
            _route("default-via-fw", "0.0.0.0/0", "10.0.2.4"),
            _route("mgmt6-via-fw-a", "fd00:99::/48", "fd00:2::4"),
            _route("pinned-via-fw-a", "10.98.0.0/24", "10.0.2.4")]}},
        {"id": vip_table, "location": LOCATION, "properties": {"routes": [
            _route("default-via-vip", "0.0.0.0/0", VIP), _route("east-west-via-ilb", "10.0.0.0/8", ILB_FRONTEND)]}},
    ]
    excluded = f"{spoke1}/routes/pinned-via-fw-a"
    config = {"clusters": [{
        "name": cluster,
        "nvas": [{"name": nva, "probe": probes.get(nva, {}), "interfaces": {
            leg: f"{nics[nva][leg]}/ipConfigurations/{'ipconfig-v6' if leg.endswith('6') else 'ipconfig1'}"
            for leg in ("untrust", "untrust6", "trust", "trust6")}} for nva in ("fw-a", "fw-b")],
        "preferred": "fw-a",
        "publicIps": [{"id": pip, "interface": "untrust"}, {"id": pip6, "interface": "untrust6"}],
        "floatingIps": [{"name": "vip-web", "interface": "untrust", "privateIp": VIP, "publicIp": web_pip}],
        "routeTables": [spoke1, spoke2, vip_table],
        "routeFilter": {"exclude": ["10.99.0.0/16", "fd00:99::/32", "storage"], "excludeRoutes": [excluded]},
    }]}
    return Estate(resources, config, [SUB], {k: {leg: v[leg] for leg in ("untrust", "trust")} for k, v in nics.items()},
                  pip, [spoke1, spoke2, vip_table], [], [], floating_pip=web_pip, ipv6_pip=pip6, asg=asg,
                  vip_table=vip_table, excluded_route=excluded)


def vip_only(estate: Estate) -> Estate:
    """The floating estate with the cluster's public IP on the floating configuration only: the leg public IPs are not
    the cluster's (no `publicIps`), so a failover moves the VIP and what it carries, and nothing else on those NICs."""
    resources = copy.deepcopy(estate.resources)
    for body in resources:
        for ipc in (body.get("properties") or {}).get("ipConfigurations") or []:
            if ipc["name"] != "vip-web":
                ipc["properties"].pop("publicIPAddress", None)
    config = copy.deepcopy(estate.config)
    del config["clusters"][0]["publicIps"]
    return replace(estate, resources=resources, config=config)


def add_vip_and_ipv6(hub: Hub, vip: str = "10.0.1.10") -> dict[str, str]:
    """Give a plain hub (topology.hub) a floating VIP with its own public IP on the active NVA's untrust NIC, and an
    IPv6 trust leg on every NVA, whose owned IPv6 routes are written non-canonically. Answers what the demo prints:
    the VIP's public IP and each NVA's IPv6 trust address."""
    sub = hub.subscriptions[0]
    web_pip = rid(sub, "hub-rg", "publicIPAddresses", "web-pip")
    hub.resources.insert(0, {"id": web_pip, "location": LOCATION, "sku": {"name": "Standard", "tier": "Regional"},
                             "properties": {"publicIPAllocationMethod": "Static", "publicIPAddressVersion": "IPv4",
                                            "ipAddress": "20.50.0.20"}})
    cluster = hub.config["clusters"][0]
    v6: dict[str, str] = {}
    for n, nva in enumerate(cluster["nvas"]):
        v6[nva["name"]] = f"fd00:2::{n + 4}"
        for body in hub.resources:
            if body["id"] == hub.nics[nva["name"]]["trust"]:
                subnet = body["properties"]["ipConfigurations"][0]["properties"]["subnet"]
                body["properties"]["ipConfigurations"][0]["properties"]["primary"] = True
                body["properties"]["ipConfigurations"].append(_ipc("ipconfig-v6", v6[nva["name"]], "trust", False, subnet=subnet))
            if body["id"] == hub.nics[nva["name"]]["untrust"] and n == 0:
                untrust = body["properties"]["ipConfigurations"]
                untrust[0]["properties"]["primary"] = True
                untrust.append(_ipc("vip-web", vip, "untrust", False, publicIPAddress={"id": web_pip},
                                    subnet=untrust[0]["properties"]["subnet"]))
        nva["interfaces"]["trust6"] = f"{hub.nics[nva['name']]['trust']}/ipConfigurations/ipconfig-v6"
    cluster["floatingIps"] = [{"name": "vip-web", "interface": "untrust", "privateIp": vip, "publicIp": web_pip}]
    written = ipaddress.ip_address(v6[cluster["nvas"][0]["name"]]).exploded.upper()  # FD00:0002:0000:…:0004
    for body in hub.resources:
        if body["id"] in hub.all_tables:
            body["properties"]["routes"] += [_route("default6-via-fw", "::/0", written), _route("to-vip", "10.50.0.0/16", vip)]
    return {"vipPublicIp": web_pip, **{f"{k}6": v for k, v in v6.items()}}
