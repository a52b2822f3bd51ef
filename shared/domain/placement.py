"""Pure: where Azure has a cluster, i.e. which NVA holds its public IPs, floating IPs and owned routes (contract §6
"Never worse": a cluster first seen, a renamed active and an abandoned change are placed from Azure, never by guess)."""

from __future__ import annotations

from dataclasses import dataclass

from shared.domain.config import Cluster
from shared.domain.desired import AzureView, addresses_unread, private_ips
from shared.domain.ownership import RouteScope, address, owned_hop
from shared.errors import EngineError


@dataclass(frozen=True)
class Placement:
    """What a read of Azure says. `where`: the one NVA holding every address and owned route (None: nowhere, several, or
    unread); `addresses`: the one NVA holding the public and floating IPs; `holders`: every NVA holding any of them."""

    where: str | None = None
    addresses: str | None = None
    holders: tuple[str, ...] = ()
    error: str | None = None

    def describe(self) -> str:
        if self.error is not None:
            return f"Azure could not be read ({self.error})"
        if self.where is not None:
            return f"Azure has the cluster on {self.where}"
        return f"Azure has the cluster on {', '.join(self.holders)}" if self.holders else "Azure has the cluster on no NVA"


def unread(error: str) -> Placement:
    return Placement(error=error)


def placement_of(cluster: Cluster, view: AzureView) -> Placement:
    """Which NVAs hold the cluster's public IPs (attached to one of their IP configurations), floating IPs (an IP
    configuration of that name on one of their NICs) and owned routes (next hop one of their private IPs)."""
    blocking = addresses_unread(view)
    if blocking:
        return unread("; ".join(f"{r}: {why}" for r, why in sorted(blocking.items())))
    try:
        ips = private_ips(cluster, view)
    except EngineError as err:
        return unread(str(err))
    nic_owner = {nva.nic_id(leg).lower(): nva.name for nva in cluster.nvas for leg in nva.interfaces}
    floating = {f.name.lower() for f in cluster.floating_ips}
    floats = {address(f.private_ip) for f in cluster.floating_ips}
    by_hop = {a: nva for (nva, _), ip in ips.items() if (a := address(ip)) is not None and a not in floats}
    addresses: set[str] = set()
    for pip in (p.id for p in cluster.public_ips):
        holder = (((view.public_ips.get(pip.lower()) or {}).get("properties") or {}).get("ipConfiguration") or {}).get("id")
        owner = nic_owner.get(str(holder).split("/ipConfigurations/")[0].lower()) if holder else None
        if owner is not None:
            addresses.add(owner)
    for nic_id, owner in nic_owner.items():
        configs = ((view.nics.get(nic_id) or {}).get("properties") or {}).get("ipConfigurations") or []
        if any(str(c.get("name", "")).lower() in floating for c in configs):
            addresses.add(owner)
    routes: set[str] = set()
    scope = RouteScope.of(cluster.route_filter)
    hops = {a: str(a) for a in by_hop}
    for table in view.route_tables.values():
        for route in (table.get("properties") or {}).get("routes") or []:
            if owned_hop(table, route, hops, scope) is not None:
                hop = address((route.get("properties") or {}).get("nextHopIpAddress"))
                if hop is not None:
                    routes.add(by_hop[hop])
    holders = tuple(n for n in cluster.names() if n in addresses | routes)
    return Placement(where=holders[0] if len(holders) == 1 else None,
                     addresses=next(iter(addresses)) if len(addresses) == 1 else None, holders=holders)
