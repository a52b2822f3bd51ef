"""What recorded Azure does to a written body that a kinder emulator would not: defaults, pruning, casing, error shapes.

Sources (cited per rule below):
- [rec-rt] Azure SDK for Python test recording, route tables and routes, 2023-12-06 (Azure/azure-sdk-assets,
  python/sdk/network/azure-mgmt-network/tests/recordings/test_cli_mgmt_network_route_table...json).
- [rec-pip] the same suite's public IP recording, 2023-12-06 (test_cli_mgmt_network_ip_addresses...json).
- [spec] the NetworkInterfaceGet / NetworkInterfaceCreate examples of Microsoft.Network 2026-03-01 and the property
  lists of azure-mgmt-network 33's models.
- [tf-7986] hashicorp/terraform#7986 and #14365: 429 RetryableError / ReferencedResourceNotProvisioned bodies.
- [bicep-5132] Azure/bicep#5132: an operation that ends Failed with AnotherOperationInProgress.
- [ps-14460] Azure/azure-powershell#14460: a NIC PUT whose x-ms-request-id equals the operation id.
- [cpa] kubernetes-sigs/cloud-provider-azure, retry/azure_error.go: 412 PreconditionFailedEtagMismatch and its message.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from .errors import ArmError, bad_request

Body = dict[str, Any]

# [spec] Everything a PUT may carry; Azure drops the rest and never echoes it back.
TOP = {"id", "name", "type", "etag", "location", "tags", "extendedLocation", "properties"}
PIP_TOP = TOP | {"sku", "zones"}
NIC_PROPS = {
    "auxiliaryMode", "auxiliarySku", "defaultOutboundConnectivityEnabled", "disableTcpStateTracking", "dnsSettings",
    "dscpConfiguration", "enableAcceleratedNetworking", "enableIPForwarding", "hostedWorkloads", "ipConfigurations",
    "macAddress", "migrationPhase", "networkSecurityGroup", "nicType", "privateEndpoint", "privateLinkService",
    "provisioningState", "resourceGuid", "tapConfigurations", "virtualMachine", "vnetEncryptionSupported", "workloadType",
    "primary",
}
IPC_TOP = {"id", "name", "type", "etag", "properties"}
IPC_PROPS = {
    "applicationGatewayBackendAddressPools", "applicationSecurityGroups", "gatewayLoadBalancer",
    "loadBalancerBackendAddressPools", "loadBalancerInboundNatRules", "privateIPAddress", "privateIPAddressPrefixLength",
    "privateIPAddressVersion", "privateIPAllocationMethod", "privateLinkConnectionProperties", "provisioningState",
    "publicIPAddress", "subnet", "primary", "virtualNetworkTaps",
}
DNS = {"appliedDnsServers", "dnsServers", "internalDnsNameLabel", "internalDomainNameSuffix", "internalFqdn"}
RT_PROPS = {"disableBgpRoutePropagation", "disablePeeringRoute", "provisioningState", "resourceGuid", "routes", "subnets"}
ROUTE_TOP = {"id", "name", "type", "etag", "properties"}
ROUTE_PROPS = {"addressPrefix", "hasBgpOverride", "nextHopIpAddress", "nextHopType", "provisioningState"}
PIP_PROPS = {
    "ddosSettings", "deleteOption", "dnsSettings", "idleTimeoutInMinutes", "ipAddress", "ipConfiguration", "ipTags",
    "linkedPublicIPAddress", "migrationPhase", "natGateway", "provisioningState", "publicIPAddressVersion",
    "publicIPAllocationMethod", "publicIPPrefix", "resourceGuid", "servicePublicIPAddress",
}

# [spec] Enum values as Azure spells them, whatever casing the request used (ipv4 -> IPv4).
ENUMS: dict[str, dict[str, str]] = {
    name: {v.lower(): v for v in values} for name, values in {
        "privateIPAllocationMethod": ("Static", "Dynamic"),
        "publicIPAllocationMethod": ("Static", "Dynamic"),
        "privateIPAddressVersion": ("IPv4", "IPv6"),
        "publicIPAddressVersion": ("IPv4", "IPv6"),
        "nextHopType": ("VirtualNetworkGateway", "VnetLocal", "Internet", "VirtualAppliance", "VirtualApplianceEcmp", "None"),
        "nicType": ("Standard", "Elastic"),
        "auxiliaryMode": ("None", "MaxConnections", "Floating", "AcceleratedConnections"),
    }.items()
}

# Fixed segments of a resource id, in Azure's casing (the names between them keep the referenced resource's own).
SEGMENTS = {s.lower(): s for s in (
    "subscriptions", "resourceGroups", "providers", "Microsoft.Network", "Microsoft.Compute", "virtualNetworks", "subnets",
    "networkSecurityGroups", "publicIPAddresses", "networkInterfaces", "ipConfigurations", "routeTables", "routes",
    "applicationSecurityGroups", "loadBalancers", "backendAddressPools", "inboundNatRules", "virtualMachines",
)}
REFERENCES = ("subnet", "publicIPAddress", "networkSecurityGroup")


def canonical_id(ref: str, known: dict[str, str]) -> str:
    """[issue 16] A reference as Azure returns it: the referenced resource's own casing when known, else fixed segments fixed."""
    hit = known.get(ref.lower().rstrip("/"))
    if hit is not None:
        return hit
    return "/".join(SEGMENTS.get(part.lower(), part) for part in ref.rstrip("/").split("/"))


def references(body: Body) -> list[str]:
    """Every {id} reference of a NIC body: its NSG, and each IP configuration's subnet and public IP."""
    props = body.get("properties") or {}
    out = [str((props.get("networkSecurityGroup") or {}).get("id") or "")]
    for ipc in props.get("ipConfigurations") or []:
        ip_props = (ipc.get("properties") or {}) if isinstance(ipc, dict) else {}
        out += [str((ip_props.get(k) or {}).get("id") or "") for k in ("subnet", "publicIPAddress")]
    return [r for r in out if r]


def _keep(body: Body, allowed: set[str]) -> None:
    for key in [k for k in body if k not in allowed]:
        del body[key]


def _enums(props: Body) -> None:
    for key, values in ENUMS.items():
        value = props.get(key)
        if isinstance(value, str) and value.lower() in values:
            props[key] = values[value.lower()]


def _ref(value: Any, known: dict[str, str]) -> Any:
    """[issue 16] A nested reference comes back as {id} only, in canonical casing."""
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return {"id": canonical_id(value["id"], known)}
    return value


def strict_nic(nic: Body, known: dict[str, str]) -> None:
    """Prune, canonicalise and complete a NIC body in place (after the emulator's own normalisation)."""
    _keep(nic, TOP)
    props = nic["properties"]
    _keep(props, NIC_PROPS)
    _enums(props)
    props["networkSecurityGroup"] = _ref(props.get("networkSecurityGroup"), known)
    if props["networkSecurityGroup"] is None:
        del props["networkSecurityGroup"]
    # [spec][issue 16] service defaults are always present, whether or not the request carried them.
    dns = props.get("dnsSettings") if isinstance(props.get("dnsSettings"), dict) else {}
    _keep(dns, DNS)
    dns.setdefault("dnsServers", [])
    dns.setdefault("appliedDnsServers", list(dns["dnsServers"]))
    dns.setdefault("internalDomainNameSuffix", f"{uuid.uuid5(uuid.NAMESPACE_URL, nic['id'].lower()).hex[:26]}.ax.internal.cloudapp.net")
    props["dnsSettings"] = dns
    for key, default in (("enableIPForwarding", False), ("enableAcceleratedNetworking", False),
                         ("disableTcpStateTracking", False), ("nicType", "Standard"), ("vnetEncryptionSupported", False),
                         ("hostedWorkloads", []), ("tapConfigurations", [])):
        props.setdefault(key, copy.deepcopy(default))
    for ipc in props.get("ipConfigurations") or []:
        _keep(ipc, IPC_TOP)
        ip_props = ipc["properties"]
        _keep(ip_props, IPC_PROPS)
        _enums(ip_props)
        for key in ("subnet", "publicIPAddress"):
            if key in ip_props:
                ip_props[key] = _ref(ip_props[key], known)
        ip_props.setdefault("primary", False)


def strict_route_table(table: Body) -> None:
    _keep(table, TOP)
    _keep(table["properties"], RT_PROPS)
    table["properties"].setdefault("disableBgpRoutePropagation", False)
    for route in table["properties"].get("routes") or []:
        _keep(route, ROUTE_TOP)
        _keep(route["properties"], ROUTE_PROPS)
        _enums(route["properties"])


def strict_public_ip(pip: Body) -> None:
    _keep(pip, PIP_TOP)
    _keep(pip["properties"], PIP_PROPS)
    _enums(pip["properties"])


def duplicate_public_ips(nic: Body) -> None:
    """[issue 16] One public IP on two IP configurations of the same NIC is refused."""
    seen: dict[str, str] = {}
    for ipc in nic["properties"].get("ipConfigurations") or []:
        ref = ((ipc.get("properties") or {}).get("publicIPAddress") or {}).get("id")
        if not ref:
            continue
        if ref.lower() in seen:
            raise bad_request(
                "PublicIPReferencedByMultipleIPConfigs",
                f"Public IP address {ref} is referenced by multiple ipconfigs in resource {nic['id']}: "
                f"{seen[ref.lower()]}, {ipc['id']}.",
            )
        seen[ref.lower()] = ipc["id"]


def precondition_failed(resource: str, sent: str | None, current: str | None) -> ArmError:
    """[cpa][issue 16] 412 with details [{code: PreconditionFailedEtagMismatch}]."""
    return ArmError(
        412, "PreconditionFailed", "Precondition failed.",
        details=[{
            "code": "PreconditionFailedEtagMismatch",
            "message": f"Etag provided in if-match header {sent} does not match etag {current} of resource {resource} in NRP data store.",
        }],
    )


def referenced_not_provisioned(ref: str, user: str, operation: str) -> ArmError:
    """[tf-7986] 429 RetryableError when a referenced resource is still updating."""
    return ArmError(
        429, "RetryableError", "A retryable error occurred.",
        details=[{
            "code": "ReferencedResourceNotProvisioned",
            "message": f"Cannot proceed with operation because resource {ref} used by resource {user} is not in Succeeded "
                       f"state. Resource is in Updating state and the last operation that updated/is updating the resource "
                       f"is {operation}.",
        }],
    )


def another_operation(subscription: str, location: str, other: str) -> str:
    """[bicep-5132] The message of an operation that ended Failed because another one held a dependent resource."""
    return (
        "Another operation on this or dependent resource is in progress. To retrieve status of the operation use uri: "
        f"https://management.azure.com/subscriptions/{subscription}/providers/Microsoft.Network/locations/{location}"
        f"/operations/{other}?api-version=2026-03-01."
    )
