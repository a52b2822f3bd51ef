"""Pure: the Azure actions (with scopes) that a set of writes needs, including every join a written NIC body references."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from shared.domain.desired import Change
from shared.domain.permission_rules import Need, group_of

NIC_WRITE = "Microsoft.Network/networkInterfaces/write"
ROUTE_TABLE_WRITE = "Microsoft.Network/routeTables/write"
OPERATION_READ = "Microsoft.Network/locations/operations/read"
NSG_JOIN = "Microsoft.Network/networkSecurityGroups/join/action"
# The atomic floating IP move (shared.adapters.moves), on the virtual network: without it, the two NIC writes are made instead.
MOVE_IP_CONFIGURATIONS = "Microsoft.Network/virtualNetworks/moveIpConfigurations/action"
# Reading whether the subscription has the feature that allows the move (at the subscription's scope).
FEATURE_READ = "Microsoft.Features/providers/features/read"
# IP configuration property -> the join action Azure checks on each resource it references (LinkedAuthorizationFailed).
IPCONFIG_JOINS: dict[str, str] = {
    "subnet": "Microsoft.Network/virtualNetworks/subnets/join/action",
    "publicIPAddress": "Microsoft.Network/publicIPAddresses/join/action",
    "applicationSecurityGroups": "Microsoft.Network/applicationSecurityGroups/joinIpConfiguration/action",
    "loadBalancerBackendAddressPools": "Microsoft.Network/loadBalancers/backendAddressPools/join/action",
    "loadBalancerInboundNatRules": "Microsoft.Network/loadBalancers/inboundNatRules/join/action",
    "applicationGatewayBackendAddressPools": "Microsoft.Network/applicationGateways/backendAddressPools/join/action",
    # chained to a gateway load balancer: the reference is to its frontend IP configuration
    "gatewayLoadBalancer": "Microsoft.Network/loadBalancers/frontendIPConfigurations/join/action",
}


def _refs(value: Any) -> list[str]:
    """The resource ids of a reference property: `{"id"}` or a list of them."""
    items = value if isinstance(value, list) else [value]
    return [str(i["id"]) for i in items if isinstance(i, dict) and i.get("id")]


def nic_joins(body: dict[str, Any]) -> list[Need]:
    """Every join a NIC write with this body is checked for: its NSG and, per IP configuration, each referenced resource."""
    props = body.get("properties") or {}
    needs = [Need(NSG_JOIN, ref) for ref in _refs(props.get("networkSecurityGroup"))]
    for ipc in props.get("ipConfigurations") or []:
        ip_props = (ipc or {}).get("properties") or {}
        for prop, action in IPCONFIG_JOINS.items():
            needs += [Need(action, ref) for ref in _refs(ip_props.get(prop))]
    return needs


def needs_of(changes: Iterable[Change]) -> list[Need]:
    """What these writes need: each resource's write, the NIC bodies' joins, and tracking each write's operation."""
    needs: set[Need] = set()
    for change in changes:
        if change.kind == "nic":
            needs.add(Need(NIC_WRITE, change.resource))
            needs.update(nic_joins(change.body))
        else:
            needs.add(Need(ROUTE_TABLE_WRITE, change.resource))
        needs.add(Need(OPERATION_READ, group_of(change.resource)))
    return sorted(needs)


def move_needs(vnets: Iterable[str]) -> list[Need]:
    """What the one-operation move of floating IPs needs besides the NIC writes' own needs: the action on each network."""
    return sorted({Need(MOVE_IP_CONFIGURATIONS, v) for v in vnets if v})
