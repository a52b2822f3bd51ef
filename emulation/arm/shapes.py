"""The stored form of a written body: server-set fields set, read-only ones kept, children named and stamped."""

from __future__ import annotations

import copy
import ipaddress
import uuid
from collections.abc import Callable

from . import strict
from .errors import bad_request
from .ids import ResourceId
from .ip_rules import check_primary
from .strict import Body

NIC_READONLY = {
    "macAddress", "virtualMachine", "resourceGuid", "primary", "vnetEncryptionSupported",
    "hostedWorkloads", "tapConfigurations", "privateEndpoint", "dscpConfiguration",
    "privateLinkService", "defaultOutboundConnectivityEnabled",
}
RT_READONLY = {"subnets", "resourceGuid"}
PIP_READONLY = {"ipConfiguration", "resourceGuid", "natGateway"}
NEXT_HOP_TYPES = {"virtualnetworkgateway", "vnetlocal", "internet", "virtualappliance", "virtualapplianceecmp", "none"}


def new_etag() -> str:
    return f'W/"{uuid.uuid4()}"'


def normalize(rid: ResourceId, body: Body, existing: Body | None, etag: str, known: dict[str, str],
              next_ip: Callable[[], int]) -> Body:
    """The stored form of a written body: server-set fields set, read-only ones kept, the rest as sent.
    `known` maps lower-cased ids to Azure's casing; `next_ip` numbers the private IPs Azure allocates."""
    props = body.get("properties")
    if props is None:
        props = {}
    if not isinstance(props, dict):
        raise bad_request("InvalidRequestFormat", "Cannot parse the request: 'properties' must be an object.")
    old_props = (existing or {}).get("properties", {})
    readonly = {"networkInterfaces": NIC_READONLY, "routeTables": RT_READONLY, "publicIPAddresses": PIP_READONLY}[rid.type]
    if existing is not None:
        for key in readonly:
            props.pop(key, None)
            if key in old_props:
                props[key] = copy.deepcopy(old_props[key])
    stored: Body = {
        "name": existing["name"] if existing else rid.name,
        "id": existing["id"] if existing else rid.text,
        "etag": etag,
        "type": rid.arm_type,
        "location": (existing or {}).get("location") or body.get("location"),
    }
    for key, value in body.items():
        if key not in {"name", "id", "etag", "type", "location", "properties"}:
            stored[key] = value
    stored["properties"] = props
    if rid.type == "networkInterfaces":
        _normalize_nic(stored, old_props, next_ip)
        strict.strict_nic(stored, known)
    elif rid.type == "routeTables":
        _normalize_routes(stored)
        strict.strict_route_table(stored)
    elif rid.type == "publicIPAddresses":
        props.pop("ipConfiguration", None)
        strict.strict_public_ip(stored)
    if existing is None and rid.type != "publicIPAddresses":
        props.setdefault("resourceGuid", str(uuid.uuid4()))
    stamp_children(stored, etag)
    return stored


def set_state(body: Body, state: str) -> None:
    """The provisioning state of a resource and of each of its IP configurations or routes."""
    props = body.setdefault("properties", {})
    props["provisioningState"] = state
    for child in props.get("ipConfigurations", []) + props.get("routes", []):
        child.setdefault("properties", {})["provisioningState"] = state


def stamp_children(body: Body, etag: str) -> None:
    props = body.get("properties", {})
    for child in props.get("ipConfigurations", []) + props.get("routes", []):
        child["etag"] = etag


def _normalize_nic(nic: Body, old_props: Body, next_ip: Callable[[], int]) -> None:
    props = nic["properties"]
    configs = props.get("ipConfigurations")
    if not isinstance(configs, list) or not configs:
        raise bad_request(
            "NetworkInterfaceMustHaveAtLeastOneIpConfiguration",
            f"Network interface {nic['id']} must have at least one IP configuration.",
        )
    old = {c["name"].lower(): c for c in old_props.get("ipConfigurations", [])}
    seen: set[str] = set()
    for ipc in configs:
        name = ipc.get("name") if isinstance(ipc, dict) else None
        if not isinstance(name, str) or not name:
            raise bad_request("InvalidRequestFormat", "Cannot parse the request: an IP configuration has no name.")
        if name.lower() in seen:
            raise bad_request("DuplicateResourceName", f"Network interface {nic['id']} has two IP configurations named {name}.")
        seen.add(name.lower())
        ipc["id"] = f"{nic['id']}/ipConfigurations/{name}"
        ipc["type"] = "Microsoft.Network/networkInterfaces/ipConfigurations"
        ip_props = ipc.setdefault("properties", {})
        v6 = str(ip_props.get("privateIPAddressVersion", "")).lower() == "ipv6" or ":" in str(ip_props.get("privateIPAddress", ""))
        if not ip_props.get("privateIPAddress"):
            previous = (old.get(name.lower()) or {}).get("properties", {}).get("privateIPAddress")
            n = next_ip()
            ip_props["privateIPAddress"] = previous or (f"fd00:db8::{n:x}" if v6 else f"10.0.{n // 250}.{n % 250 + 4}")
        ip_props.setdefault("privateIPAllocationMethod", "Dynamic")
        ip_props["privateIPAddressVersion"] = "IPv6" if v6 else "IPv4"
        pip = ip_props.get("publicIPAddress")
        if pip is not None and not (isinstance(pip, dict) and isinstance(pip.get("id"), str)):
            raise bad_request("InvalidRequestFormat", f"Cannot parse the request: {ipc['id']} publicIPAddress must be {{'id': …}}.")
    if len(configs) == 1:
        configs[0]["properties"]["primary"] = True
    check_primary(nic["id"], configs, old)


def _normalize_routes(table: Body) -> None:
    routes = table["properties"].get("routes")
    if routes is None:
        table["properties"]["routes"] = []
        return
    if not isinstance(routes, list):
        raise bad_request("InvalidRequestFormat", "Cannot parse the request: 'routes' must be an array.")
    seen: set[str] = set()
    for route in routes:
        name = route.get("name") if isinstance(route, dict) else None
        if not isinstance(name, str) or not name:
            raise bad_request("InvalidRequestFormat", "Cannot parse the request: a route has no name.")
        if name.lower() in seen:
            raise bad_request("DuplicateResourceName", f"Route table {table['id']} has two routes named {name}.")
        seen.add(name.lower())
        route["id"] = f"{table['id']}/routes/{name}"
        route["type"] = "Microsoft.Network/routeTables/routes"
        props = route.setdefault("properties", {})
        props.pop("hasBgpOverride", None)
        props["hasBgpOverride"] = False
        hop = props.get("nextHopType")
        if not isinstance(hop, str) or hop.lower() not in NEXT_HOP_TYPES:
            raise bad_request("InvalidRouteNextHopType", f"Route {route['id']} has an invalid nextHopType {hop!r}.")
        if not isinstance(props.get("addressPrefix"), str):
            raise bad_request("InvalidRouteAddressPrefix", f"Route {route['id']} has no addressPrefix.")
        if hop.lower() in {"virtualappliance", "virtualapplianceecmp"}:
            try:
                ipaddress.ip_address(str(props.get("nextHopIpAddress")))
            except ValueError:
                raise bad_request(
                    "InvalidNextHopIpAddress",
                    f"Route {route['id']} has next hop type {hop} and an invalid nextHopIpAddress {props.get('nextHopIpAddress')!r}.",
                ) from None
