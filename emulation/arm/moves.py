"""Microsoft.Network's IP configuration move between NICs of one virtual network, as one long-running operation.

Modelled from the REST spec of Microsoft.Network 2025-09-01 and later (`VirtualNetworks_MoveIpConfigurations`,
x-ms-original-file 2025-09-01/VirtualNetworkMoveIpConfigurations.json; azure-mgmt-network 33.1
`virtual_networks.begin_move_ip_configurations`): `POST /subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.Network/
virtualNetworks/{vnet}/moveIpConfigurations`, body `{"moveIpConfigurationItems": [{"sourceIpConfiguration": {"id"},
"targetIpConfiguration": {"id"}}]}`, answered 200 or 202 with Azure-AsyncOperation and Location (an
Azure-AsyncOperation-polled action, no result body). Gated by the subscription feature
Microsoft.Network/AllowMoveIpConfigurations (features.py). What the spec does not say, and the switch here decides:
whether the moved configuration keeps its public IP, ASGs and pools (`leaves`: the properties it does not carry).
Each configuration is on exactly one NIC at every moment: the source loses it as the target gains it (one lock).
"""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Callable
from typing import Any

from . import features as feature_api
from .errors import ArmError, bad_request
from .estate import ArmEstate
from .ids import ResourceId, parse
from .messages import Request, json_body
from .operations import Operation
from .shapes import new_etag

FEATURE = "Microsoft.Network/AllowMoveIpConfigurations"
ACTION = "Microsoft.Network/virtualNetworks/moveIpConfigurations/action"
NIC_WRITE = "Microsoft.Network/networkInterfaces/write"  # checked on each NIC the move changes (as a linked scope)
KIND = "virtualNetworks.moveIpConfigurations"  # the latency key (EstateSettings.latency) of the operation
ROUTE = (re.compile(r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.Network/"
                    r"virtualNetworks/(?P<vnet>[^/]+)/moveIpConfigurations$", re.I), "move")
ROUTES = [ROUTE, feature_api.ROUTE]
OPERATION_IDS = {"move": "VirtualNetworks_MoveIpConfigurations", "feature": "Features_Get"}
CARRIED = ("publicIPAddress", "applicationSecurityGroups", "loadBalancerBackendAddressPools",
           "loadBalancerInboundNatRules", "applicationGatewayBackendAddressPools", "gatewayLoadBalancer")


class Moves:
    """The switch (what a move leaves behind) and the subscriptions' feature states."""

    def __init__(self) -> None:
        self.features = feature_api.Features()
        self._lock = threading.Lock()
        self.leaves: frozenset[str] = frozenset()
        self.count = 0

    def configure(self, body: dict[str, Any]) -> dict[str, Any]:
        """Control plane: `{"leaves": ["publicIPAddress", …]}`: what a moved configuration does not keep."""
        leaves = frozenset(str(k) for k in body.get("leaves") or ())
        if unknown := leaves - set(CARRIED):
            raise ValueError(f"leaves: unknown properties {sorted(unknown)} (known: {list(CARRIED)})")
        with self._lock:
            self.leaves = leaves
        return {"leaves": sorted(leaves), "moves": self.count}


def authorization(params: dict[str, str]) -> tuple[str, str]:
    """The action and scope Resource Manager checks for a request of these kinds."""
    if params["kind"] == "feature":
        return feature_api.READ_ACTION, f"/subscriptions/{params['sub']}"
    return ACTION, _vnet_id(params)


def check_version(kind: str, version: str, network_versions: set[str]) -> None:
    if kind == "feature":
        feature_api.check_version(version)
    elif version not in network_versions or version < "2025-09-01":
        raise bad_request("NoRegisteredProviderFound", f"No registered resource provider found for API version '{version}' "
                          f"and operation moveIpConfigurations. The supported api-versions are '{', '.join(sorted(network_versions))}'.")


def post(estate: ArmEstate, moves: Moves, req: Request, params: dict[str, str], may_write: Callable[[str], bool]) -> Operation:
    """A move request checked as Resource Manager checks it (method, the feature, the body), then started."""
    if req.method != "POST":
        raise ArmError(405, "MethodNotAllowed", f"The requested resource does not support http method '{req.method}'.")
    if moves.features.state(params["sub"], FEATURE) != "Registered":
        raise bad_request("SubscriptionNotRegisteredForFeature", f"Subscription {params['sub']} is not registered for feature "
                          f"{FEATURE} required to carry out the requested operation.")
    items = json_body(req).get("moveIpConfigurationItems")
    if not isinstance(items, list) or not items:
        raise bad_request("InvalidRequestContent", "moveIpConfigurationItems must be a non-empty array.")
    return start(estate, moves, _vnet_id(params), items, may_write)


def start(estate: ArmEstate, moves: Moves, vnet: str, items: list[Any], may_write: Callable[[str], bool] | None = None) -> Operation:
    """Check every item, then move them all at once: each NIC touched becomes Updating until the operation ends."""
    with estate.lock:
        estate._settle()
        sub, group = vnet.split("/")[2], vnet.split("/")[4]
        estate.check_scope(sub, group)
        working: dict[str, tuple[ResourceId, dict[str, Any], dict[str, Any]]] = {}  # key -> (rid, stored, new body)

        def nic(ref: str) -> tuple[ResourceId, dict[str, Any]]:
            rid = parse(ref.split("/ipConfigurations/")[0] if "/ipconfigurations/" in ref.lower() else "")
            if rid is None or rid.type != "networkInterfaces" or rid.key not in estate.resources:
                raise bad_request("InvalidResourceReference", f"IP configuration {ref} was not found.")
            if rid.key not in working:
                estate.operations.check_not_busy(rid)
                if may_write is not None and not may_write(rid.text):
                    raise ArmError(403, "LinkedAuthorizationFailed", f"The client does not have permission to perform action "
                                   f"'{NIC_WRITE}' on the linked scope '{rid.text}'.")
                stored = estate.resources[rid.key]
                working[rid.key] = (rid, stored, copy.deepcopy(stored))
            return rid, working[rid.key][2]

        for item in items:
            source = str(((item or {}).get("sourceIpConfiguration") or {}).get("id") or "")
            target = str(((item or {}).get("targetIpConfiguration") or {}).get("id") or "")
            if "/ipconfigurations/" not in source.lower() or "/ipconfigurations/" not in target.lower():
                raise bad_request("InvalidRequestContent", "Each item needs sourceIpConfiguration.id and targetIpConfiguration.id.")
            _, src_body = nic(source)
            _, tgt_body = nic(target)
            name = source.rsplit("/", 1)[-1].lower()
            configs = src_body["properties"]["ipConfigurations"]
            moving = next((c for c in configs if c["name"].lower() == name), None)
            if moving is None:
                raise bad_request("InvalidResourceReference", f"IP configuration {source} was not found.")
            if moving["properties"].get("primary") is True:
                raise bad_request("CannotMovePrimaryIpConfiguration", f"IP configuration {source} is the primary IP "
                                  "configuration of its network interface and cannot be moved.")
            for body, ref in ((src_body, source), (tgt_body, target)):
                if _nic_vnet(body) != vnet.lower():
                    raise bad_request("IpConfigurationNotInVirtualNetwork", f"IP configuration {ref} is not in virtual network {vnet}.")
            target_name = target.rsplit("/", 1)[-1]
            if any(c["name"].lower() == target_name.lower() for c in tgt_body["properties"]["ipConfigurations"]):
                raise bad_request("IpConfigurationAlreadyExists", f"IP configuration {target} already exists.")
            props = {k: copy.deepcopy(v) for k, v in moving["properties"].items() if k not in moves.leaves}
            props.update(primary=False)
            src_body["properties"]["ipConfigurations"] = [c for c in configs if c is not moving]
            tgt_body["properties"]["ipConfigurations"].append({"name": target_name, "properties": props})
        ops: list[Operation] = []
        for _, (rid, stored, body) in sorted(working.items()):
            normalized = estate._normalize(rid, body, stored, new_etag())
            ops.append(estate._start(rid, normalized, stored, KIND))
        for op in ops[1:]:  # one operation: every NIC it touched is done when it is
            op.done_at = ops[0].done_at
        moves.count += 1
        return ops[0]


def _nic_vnet(nic: dict[str, Any]) -> str:
    for ipc in nic["properties"].get("ipConfigurations", []):
        subnet = str(((ipc.get("properties") or {}).get("subnet") or {}).get("id") or "").lower()
        if "/subnets/" in subnet:
            return subnet.split("/subnets/")[0]
    return ""


def _vnet_id(params: dict[str, str]) -> str:
    return (f"/subscriptions/{params['sub']}/resourceGroups/{params['rg']}/providers/Microsoft.Network/"
            f"virtualNetworks/{params['vnet']}")
