"""Pure: which routes a cluster owns (contract §2): next hops compared as addresses, narrowed by routeFilter."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.domain.config_scope import RouteFilter

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Entry = Network | str  # a prefix, or a service tag (lower-cased)


def address(text: object) -> Address | None:
    """An IP address from Azure's text in any valid spelling (`FD00:0:0::4` is `fd00::4`), or None."""
    if not isinstance(text, str):
        return None
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _entry(text: str) -> Entry:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return text.lower()


def _covers(entry: Entry, prefix: Entry) -> bool:
    if isinstance(entry, str) or isinstance(prefix, str):
        return entry == prefix
    if entry.version != prefix.version:
        return False
    return prefix.subnet_of(entry)  # type: ignore[arg-type]  # same version checked above


@dataclass(frozen=True)
class RouteScope:
    """routeFilter, ready to match: include (None: every route), exclude, and route ids excluded (lower-cased)."""

    include: tuple[Entry, ...] | None = None
    exclude: tuple[Entry, ...] = ()
    exclude_routes: frozenset[str] = frozenset()

    @classmethod
    def of(cls, config: RouteFilter | None) -> RouteScope:
        if config is None:
            return cls()
        include = None if config.include is None else tuple(_entry(e) for e in config.include)
        return cls(include, tuple(_entry(e) for e in config.exclude), frozenset(r.lower() for r in config.exclude_routes))

    def admits(self, route_id: str, prefix: object) -> bool:
        """Whether a route with this id and addressPrefix may be owned."""
        if route_id.lower() in self.exclude_routes:
            return False
        if not isinstance(prefix, str):
            return False
        target = _entry(prefix)
        if self.include is not None and not any(_covers(e, target) for e in self.include):
            return False
        return not any(_covers(e, target) for e in self.exclude)


def route_id(table: Mapping[str, Any], route: Mapping[str, Any]) -> str:
    return str(route.get("id") or f"{table.get('id')}/routes/{route.get('name')}")


def owned_hop(table: Mapping[str, Any], route: Mapping[str, Any], hops: Mapping[Address, str], scope: RouteScope) -> str | None:
    """The next hop the route must have when the cluster owns it, else None."""
    props = route.get("properties") or {}
    if str(props.get("nextHopType", "")).lower() != "virtualappliance":
        return None
    hop = address(props.get("nextHopIpAddress"))
    if hop is None or hop not in hops:
        return None
    if not scope.admits(route_id(table, route), props.get("addressPrefix")):
        return None
    return hops[hop]
