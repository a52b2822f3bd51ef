"""Pure: from what Azure holds and which NVA should be active, the NIC and route table writes that must happen."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from shared.domain.config import Cluster
from shared.domain.floating import FloatingTarget, floating_targets, move_floating
from shared.domain.ownership import Address, RouteScope, address, owned_hop
from shared.errors import PermanentError

Body = dict[str, Any]
NOT_FOUND = "not found in Azure"  # the reason of a configured resource Azure does not have


@dataclass(frozen=True)
class AzureView:
    """Resource bodies as Azure returned them, by lower-cased id."""

    nics: Mapping[str, Body] = field(default_factory=dict)
    public_ips: Mapping[str, Body] = field(default_factory=dict)
    route_tables: Mapping[str, Body] = field(default_factory=dict)
    unread: Mapping[str, str] = field(default_factory=dict)  # id (a resource, or a subscription's listing) -> why not read
    floating_path: str | None = None  # how a failover would move the floating IPs, and why (shared.adapters.moves)


@dataclass(frozen=True)
class Change:
    """One resource write: its new full body (built on `etag`) and a readable before/after of what differs."""

    resource: str
    kind: Literal["nic", "routeTable"]
    action: str
    before: Mapping[str, Any]
    after: Mapping[str, Any]
    body: Body
    etag: str | None
    phase: int  # 0: detaches and route tables, 1: attaches (after every detach completed)

    def describe(self) -> dict[str, Any]:
        return {"resource": self.resource, "action": self.action, "before": dict(self.before), "after": dict(self.after)}


FAILED = "Failed"


def provisioning_failed(body: Body) -> bool:
    """Azure marks a resource Failed when its last write failed, keeping that write's body: it is not done."""
    return (body.get("properties") or {}).get("provisioningState") == FAILED


def _rewrite(body: Body, kind: Literal["nic", "routeTable"], phase: int) -> Change:
    """The write that recovers a Failed resource: its body again (Microsoft's guidance: PUT it once more)."""
    return Change(str(body["id"]), kind, "rewriteFailed", {"provisioningState": FAILED}, {"provisioningState": "Succeeded"},
                  copy.deepcopy(body), body.get("etag"), phase)


def _ipconfigs(nic: Body) -> list[Body]:
    return list((nic.get("properties") or {}).get("ipConfigurations") or [])


def _pip_ref(ipconfig: Body) -> str | None:
    ref = ((ipconfig.get("properties") or {}).get("publicIPAddress") or {}).get("id")
    return str(ref) if ref else None


def private_ips(cluster: Cluster, view: AzureView) -> dict[tuple[str, str], str]:
    """(nva, leg) -> the private IP Azure assigned to that IP configuration."""
    out: dict[tuple[str, str], str] = {}
    for nva in cluster.nvas:
        for leg, ipconfig_id in nva.interfaces.items():
            nic = view.nics.get(nva.nic_id(leg).lower())
            if nic is None:
                raise PermanentError(f"{nva.name}.{leg}: network interface {nva.nic_id(leg)} was not found")
            match = [c for c in _ipconfigs(nic) if str(c.get("id", "")).lower() == ipconfig_id.lower()]
            ip = (match[0].get("properties") or {}).get("privateIPAddress") if match else None
            if not ip:
                raise PermanentError(f"{nva.name}.{leg}: IP configuration {ipconfig_id} has no private IP in Azure")
            out[(nva.name, leg)] = str(ip)
    return out


@dataclass(frozen=True)
class Desired:
    """Where each managed public IP belongs and what each owned next hop becomes, for one active NVA."""

    active: str
    pip_targets: Mapping[str, str]  # public IP id (lower) -> the IP configuration id that must hold it
    pip_ids: Mapping[str, str]  # lower -> as configured
    hop_map: Mapping[Address, str]  # private IP of any NVA's leg L (as an address) -> the active NVA's leg L IP
    floating: tuple[FloatingTarget, ...] = ()
    scope: RouteScope = field(default_factory=RouteScope)
    own_nics: frozenset[str] = frozenset()  # lower-cased ids of the cluster's NICs: a Failed one is written again

    def nic_change(self, nic: Body) -> Change | None:
        """The write that makes one NIC hold exactly the public and floating IPs it should, or None. Only the cluster's
        own NICs are ever written (contract §6 "In scope only")."""
        if str(nic.get("id", "")).lower() not in self.own_nics:
            return None
        new = copy.deepcopy(nic)
        moved_from, moved_to, removed, added = move_floating(new, self.floating)
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}
        detaches, attaches = removed, added
        for ipc in _ipconfigs(new):
            ipc_id = str(ipc.get("id") or f"{nic.get('id')}/ipConfigurations/{ipc.get('name')}")
            current = _pip_ref(ipc)
            wanted = next((self.pip_ids[p] for p, target in self.pip_targets.items() if target.lower() == ipc_id.lower()), None)
            if wanted is None and current is not None and current.lower() in self.pip_targets:
                wanted_ref: str | None = None
            elif wanted is not None:
                wanted_ref = wanted
            else:
                continue
            if (current or "").lower() == (wanted_ref or "").lower():
                continue
            props = ipc.setdefault("properties", {})
            if wanted_ref is None:
                props.pop("publicIPAddress", None)
                detaches = True
            else:
                props["publicIPAddress"] = {"id": wanted_ref}
                attaches = True
            name = str(ipc.get("name") or ipc_id.rsplit("/", 1)[-1])
            before[name], after[name] = current, wanted_ref
        if not before and not moved_from:
            if provisioning_failed(nic) and str(nic.get("id", "")).lower() in self.own_nics:
                holds = any((_pip_ref(c) or "").lower() in self.pip_targets for c in _ipconfigs(nic))
                return _rewrite(nic, "nic", 1 if holds else 0)  # a NIC that holds an address is written after the detaches
            return None
        if moved_from:
            action = "removeFloatingIp" if removed else "addFloatingIp"
        else:
            action = "updatePublicIps" if detaches and attaches else ("detachPublicIp" if detaches else "attachPublicIp")
        was = {k: v for k, v in (("publicIps", before), ("floatingIps", moved_from)) if v}
        now = {k: v for k, v in (("publicIps", after), ("floatingIps", moved_to)) if v}
        return Change(str(nic["id"]), "nic", action, was, now, new, nic.get("etag"), 0 if detaches else 1)

    def route_table_change(self, table: Body) -> Change | None:
        """The write that points every owned route of a table at the active NVA, or None."""
        new = copy.deepcopy(table)
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}
        for route in (new.get("properties") or {}).get("routes") or []:
            target = owned_hop(table, route, self.hop_map, self.scope)
            props = route.get("properties") or {}
            hop = props.get("nextHopIpAddress")
            if target is None or address(hop) == address(target):
                continue
            props["nextHopIpAddress"] = target
            before[str(route.get("name"))], after[str(route.get("name"))] = hop, target
        if not before:
            return _rewrite(table, "routeTable", 0) if provisioning_failed(table) else None
        return Change(str(table["id"]), "routeTable", "updateRoutes", {"nextHops": before}, {"nextHops": after}, new,
                      table.get("etag"), 0)

    def owns_routes(self, table: Body) -> bool:
        return any(owned_hop(table, r, self.hop_map, self.scope) is not None
                   for r in (table.get("properties") or {}).get("routes") or [])


def desired(cluster: Cluster, active: str, view: AzureView, journaled: Mapping[str, Body] | None = None) -> Desired:
    """What Azure must hold with `active` active. `journaled`: floating IP configurations recorded before a removal."""
    ips = private_ips(cluster, view)
    target = cluster.nva(active)
    floating = floating_targets(cluster, active, view.nics, journaled)
    floats = {address(f.private_ip) for f in floating}  # routes to a floating IP never move
    hop_map = {a: ips[(active, leg)] for (nva, leg), ip in ips.items() if (a := address(ip)) is not None and a not in floats}
    own = frozenset(nva.nic_id(leg).lower() for nva in cluster.nvas for leg in nva.interfaces)
    foreign = foreign_held(view, own)  # a configuration error (readiness says so): never taken from that NIC
    pips = {p.id.lower(): target.interfaces[p.interface] for p in cluster.public_ips if p.id.lower() not in foreign}
    pips.update({f.public_ip.lower(): f"{target.nic_id(f_cfg.interface)}/ipConfigurations/{f.name}"
                 for f, f_cfg in zip(floating, cluster.floating_ips, strict=True) if f.public_ip})
    ids = {p.id.lower(): p.id for p in cluster.public_ips} | {f.public_ip.lower(): f.public_ip for f in floating if f.public_ip}
    return Desired(active=active, pip_targets=pips, pip_ids=ids, hop_map=hop_map, floating=floating,
                   scope=RouteScope.of(cluster.route_filter), own_nics=own)


def addresses_unread(view: AzureView) -> dict[str, str]:
    """The NICs and public IPs that could not be read: without them no address move can be planned."""
    return {r: why for r, why in view.unread.items() if "/providers/" in r and "/routetables/" not in r.lower()}


def foreign_held(view: AzureView, own: frozenset[str]) -> dict[str, str]:
    """Viewed public IPs (lower-cased ids) that Azure has on a NIC outside the cluster: id -> that NIC's id."""
    out = {}
    for key, pip in view.public_ips.items():
        holder = ((pip.get("properties") or {}).get("ipConfiguration") or {}).get("id")
        nic = str(holder).split("/ipConfigurations/")[0] if holder else ""
        if nic and nic.lower() not in own:
            out[key] = nic
    return out


def holder_nic_ids(view: AzureView) -> set[str]:
    """NICs (lower-cased ids) that Azure says hold one of the viewed public IPs."""
    out = set()
    for pip in view.public_ips.values():
        holder = ((pip.get("properties") or {}).get("ipConfiguration") or {}).get("id")
        if holder:
            out.add(str(holder).split("/ipConfigurations/")[0].lower())
    return out


def plan_changes(cluster: Cluster, active: str, view: AzureView, journaled: Mapping[str, Body] | None = None) -> list[Change]:
    """Every write that makes Azure match `active`: NICs (detaches first) and route tables; nothing already right."""
    want = desired(cluster, active, view, journaled)
    changes: list[Change] = []
    for key in sorted(view.nics):
        change = want.nic_change(view.nics[key])
        if change is not None:
            changes.append(change)
    for key in sorted(view.route_tables):
        change = want.route_table_change(view.route_tables[key])
        if change is not None:
            changes.append(change)
    return changes
