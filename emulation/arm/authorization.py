"""The RBAC stage: the action and scope a request needs, and the join actions a NIC write needs on what it references."""

from __future__ import annotations

import json

from . import moves
from .errors import ArmError
from .estate import ArmEstate
from .messages import Request
from .rbac import Rbac

# IP configuration property -> the join action Azure checks on each resource it references (LinkedAuthorizationFailed).
LINKED_JOINS = {
    "subnet": "Microsoft.Network/virtualNetworks/subnets/join/action",
    "publicIPAddress": "Microsoft.Network/publicIPAddresses/join/action",
    "applicationSecurityGroups": "Microsoft.Network/applicationSecurityGroups/joinIpConfiguration/action",
    "loadBalancerBackendAddressPools": "Microsoft.Network/loadBalancers/backendAddressPools/join/action",
    "loadBalancerInboundNatRules": "Microsoft.Network/loadBalancers/inboundNatRules/join/action",
    "applicationGatewayBackendAddressPools": "Microsoft.Network/applicationGateways/backendAddressPools/join/action",
    "gatewayLoadBalancer": "Microsoft.Network/loadBalancers/frontendIPConfigurations/join/action",
}


def authorize(rbac: Rbac, estate: ArmEstate, req: Request, params: dict[str, str], principal: str) -> None:
    """403 AuthorizationFailed unless the principal may perform the request's action at its scope (when enforcing)."""
    if not rbac.enforcing:
        return
    kind = params["kind"]
    verb = {"GET": "read", "DELETE": "delete"}.get(req.method, "write")
    if kind == "permissions":
        action, scope = "Microsoft.Authorization/permissions/read", params["scope"]
    elif kind in moves.OPERATION_IDS:
        action, scope = moves.authorization(params)
    elif kind in {"op-status", "op-result"}:
        # Tracking needs the permission at the resource group of the operated resource (or above):
        # the status URL is not under the resource, so a resource-level grant is not enough.
        action = "Microsoft.Network/locations/operations/read"
        scope = estate.operation_scope(params["sub"], params["op"])
    elif kind in {"route", "routes"}:
        action = f"Microsoft.Network/routeTables/routes/{verb}"
        scope = f"/subscriptions/{params['sub']}/resourceGroups/{params['rg']}/providers/Microsoft.Network/routeTables/{params['name']}"
        if kind == "route":
            scope += f"/routes/{params['route']}"
    else:
        action = f"Microsoft.Network/{params['type']}/{verb}"
        scope = f"/subscriptions/{params['sub']}"
        if "rg" in params:
            scope += f"/resourceGroups/{params['rg']}/providers/Microsoft.Network/{params['type']}"
            if "name" in params:
                scope += f"/{params['name']}"
    if not rbac.allowed(principal, action, scope):
        raise ArmError(
            403,
            "AuthorizationFailed",
            f"The client '{principal}' with object id '{principal}' does not have authorization to perform action "
            f"'{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.",
        )
    if kind == "item" and req.method == "PUT" and params["type"] == "networkInterfaces":
        _authorize_links(rbac, req, action, scope, principal)


def _authorize_links(rbac: Rbac, req: Request, action: str, scope: str, principal: str) -> None:
    """A NIC write must also be allowed to join each resource it references: NSG, subnets, public IPs, application
    security groups, load balancer backend pools and inbound NAT rules, application gateway backend pools."""
    try:
        body = json.loads(req.body or b"{}")
    except ValueError:
        return
    links: list[tuple[str, str]] = []
    props = body.get("properties") or {}
    nsg = (props.get("networkSecurityGroup") or {}).get("id")
    if nsg:
        links.append(("Microsoft.Network/networkSecurityGroups/join/action", nsg))
    for ipc in props.get("ipConfigurations") or []:
        ip_props = ipc.get("properties") or {}
        for prop, link_action in LINKED_JOINS.items():
            value = ip_props.get(prop)
            refs = value if isinstance(value, list) else [value]
            links += [(link_action, str(r["id"])) for r in refs if isinstance(r, dict) and r.get("id")]
    for link_action, link_scope in links:
        if not rbac.allowed(principal, link_action, link_scope):
            raise ArmError(
                403,
                "LinkedAuthorizationFailed",
                f"The client '{principal}' has permission to perform action '{action}' on scope '{scope}'; however, "
                f"it does not have permission to perform action(s) '{link_action}' on the linked scope(s) "
                f"'{link_scope}' (respectively) or the linked scope(s) are invalid.",
            )
