"""Pure: where each floating IP configuration must live, and the NIC body edits that move it there."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.domain.config import Cluster
from shared.domain.ownership import address
from shared.errors import PermanentError

Body = dict[str, Any]
_NOT_CARRIED = {"provisioningState", "primary", "etag", "id", "type"}
_PLACED = {"privateIPAddress", "privateIPAllocationMethod", "subnet", "publicIPAddress"}  # what in_place checks
# References a configuration carries (its ASGs and pools): a move that did not carry one is followed by a write that does.
CARRIED_REFS = ("applicationSecurityGroups", "loadBalancerBackendAddressPools", "loadBalancerInboundNatRules",
                "applicationGatewayBackendAddressPools", "gatewayLoadBalancer")


@dataclass(frozen=True)
class FloatingTarget:
    """One floating IP: the NIC that must hold it (lower-cased id) and the IP configuration body to add there."""

    name: str
    private_ip: str
    public_ip: str | None
    nic: str
    body: Body
    sources: frozenset[str] = frozenset()  # the NICs (lower-cased ids) of this leg on every NVA: where it may be removed
    held: str | None = None  # the IP configuration id (as Azure spells it) holding it now, when one NIC of `sources` does
    held_subnet: str | None = None  # that configuration's subnet id

    def holds(self, ipc: Mapping[str, Any]) -> bool:
        return str(ipc.get("name", "")).lower() == self.name.lower()

    def in_place(self, ipc: Mapping[str, Any]) -> bool:
        """The IP configuration on the target NIC is as it must be: its address, subnet and public IP."""
        props = ipc.get("properties") or {}
        want = self.body["properties"]
        pip = ((props.get("publicIPAddress") or {}).get("id") or "").lower()
        subnet = ((props.get("subnet") or {}).get("id") or "").lower()
        return (address(props.get("privateIPAddress")) == address(self.private_ip)
                and (self.public_ip is None or pip == self.public_ip.lower())
                and subnet == ((want.get("subnet") or {}).get("id") or "").lower()
                and all(_ref_ids(props.get(k)) == _ref_ids(want[k]) for k in CARRIED_REFS if want.get(k)))

    @property
    def subnet(self) -> str:
        return str(((self.body["properties"].get("subnet") or {}).get("id")) or "")


def _ref_ids(value: Any) -> set[str]:
    items = value if isinstance(value, list) else [value]
    return {str(i["id"]).lower() for i in items if isinstance(i, dict) and i.get("id")}


def _configs(nic: Mapping[str, Any]) -> list[Body]:
    return list((nic.get("properties") or {}).get("ipConfigurations") or [])


def carried_configs(cluster: Cluster, nics: Mapping[str, Body]) -> dict[str, Body]:
    """Each floating IP configuration as Azure holds it now (by lower-cased name): what a move carries over.
    Refuses one that is a NIC's primary IP configuration (contract §2)."""
    out: dict[str, Body] = {}
    for f, fip in enumerate(cluster.floating_ips):
        for nva in cluster.nvas:
            nic = nics.get(nva.nic_id(fip.interface).lower())
            for ipc in _configs(nic or {}):
                if str(ipc.get("name", "")).lower() != fip.name.lower():
                    continue
                if (ipc.get("properties") or {}).get("primary") is True:
                    raise PermanentError(
                        f"floatingIps[{f}] {fip.name!r}: is the primary IP configuration of {nva.nic_id(fip.interface)}; "
                        "a floating IP must be a secondary IP configuration (a NIC keeps its primary)")
                out.setdefault(fip.name.lower(), copy.deepcopy(ipc))
    return out


def floating_targets(cluster: Cluster, active: str, nics: Mapping[str, Body],
                     journaled: Mapping[str, Body] | None = None) -> tuple[FloatingTarget, ...]:
    """Where each floating IP must be for `active`, with what to add there: the configuration as Azure holds it
    (or, mid-move, as the journal recorded it before its removal), in the subnet of the active NVA's leg."""
    found = carried_configs(cluster, nics)
    target = cluster.nva(active)
    out = []
    for fip in cluster.floating_ips:
        nic_id = target.nic_id(fip.interface)
        leg = next((c for c in _configs(nics.get(nic_id.lower()) or {})
                    if str(c.get("id", "")).lower() == target.interfaces[fip.interface].lower()), None)
        if leg is None:
            raise PermanentError(f"{active}.{fip.interface}: IP configuration {target.interfaces[fip.interface]} was not found")
        held = found.get(fip.name.lower())
        recorded = (journaled or {}).get(fip.name.lower()) or {}
        source = held or recorded or {"properties": {}}
        props = {k: copy.deepcopy(v) for k, v in (source.get("properties") or {}).items() if k not in _NOT_CARRIED}
        for key in CARRIED_REFS:  # what the journal recorded before the change began and a move since left behind
            if not props.get(key) and (recorded.get("properties") or {}).get(key):
                props[key] = copy.deepcopy(recorded["properties"][key])
        ip = address(fip.private_ip)
        props.update(privateIPAddress=fip.private_ip, privateIPAllocationMethod="Static",
                     privateIPAddressVersion="IPv6" if ip is not None and ip.version == 6 else "IPv4", primary=False)
        subnet = (leg.get("properties") or {}).get("subnet")
        if subnet:
            props["subnet"] = copy.deepcopy(subnet)
        if fip.public_ip is not None:
            props["publicIPAddress"] = {"id": fip.public_ip}
        held_props = (held or {}).get("properties") or {}
        out.append(FloatingTarget(fip.name, fip.private_ip, fip.public_ip, nic_id.lower(),
                                  {"name": fip.name, "properties": props},
                                  frozenset(n.nic_id(fip.interface).lower() for n in cluster.nvas),
                                  str(held["id"]) if held and held.get("id") else None,
                                  str((held_props.get("subnet") or {}).get("id") or "") or None))
    return tuple(out)


def move_floating(nic: Body, targets: tuple[FloatingTarget, ...]) -> tuple[dict[str, Any], dict[str, Any], bool, bool]:
    """Edit a NIC body (in place) so it holds exactly the floating IPs it should: (before, after, removed, added)."""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    removed = added = False
    props = nic.setdefault("properties", {})
    configs = _configs(nic)
    nic_id = str(nic.get("id", "")).lower()
    for t in targets:
        mine = [c for c in configs if t.holds(c)]
        if nic_id != t.nic:
            if mine and nic_id in t.sources:
                configs = [c for c in configs if not t.holds(c)]
                before[t.name] = (mine[0].get("properties") or {}).get("privateIPAddress")
                after[t.name] = None
                removed = True
            continue
        if mine and t.in_place(mine[0]):
            continue
        current = (mine[0].get("properties") or {}).get("privateIPAddress") if mine else None
        if mine:  # present but wrong (drift, or a move that left something behind): put address, subnet, public IP, ASGs, pools right
            fixed = copy.deepcopy(mine[0])
            fixed.setdefault("properties", {}).update(
                {k: copy.deepcopy(v) for k, v in t.body["properties"].items() if k in _PLACED or k in CARRIED_REFS})
            configs = [fixed if t.holds(c) else c for c in configs]
        else:
            configs.append(copy.deepcopy(t.body))
        before[t.name], after[t.name] = current, t.private_ip
        added = True
    props["ipConfigurations"] = configs
    return before, after, removed, added
