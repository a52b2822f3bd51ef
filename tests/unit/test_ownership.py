"""Route ownership, table-driven: next hops compared as addresses (IPv4 and IPv6), routeFilter by prefix, tag and id."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

import pytest

from shared.domain.config_scope import RouteFilter
from shared.domain.ownership import RouteScope, address, owned_hop

TABLE = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/routeTables/rt"
HOPS = {ipaddress.ip_address(a): b for a, b in (("10.0.2.4", "10.0.2.5"), ("10.0.2.5", "10.0.2.5"),
                                                ("fd00:2::4", "fd00:2::5"), ("fd00:2::5", "fd00:2::5"))}


def route(prefix: str, hop: str | None, kind: str = "VirtualAppliance", name: str = "r") -> dict[str, Any]:
    props: dict[str, Any] = {"addressPrefix": prefix, "nextHopType": kind}
    if hop is not None:
        props["nextHopIpAddress"] = hop
    return {"name": name, "id": f"{TABLE}/routes/{name}", "properties": props}


def scope(**fields: Any) -> RouteScope:
    return RouteScope.of(RouteFilter.model_validate_json(json.dumps(fields)))


OWNERSHIP: list[tuple[str, dict[str, Any], RouteScope, str | None]] = [
    ("v4 owned", route("0.0.0.0/0", "10.0.2.4"), RouteScope(), "10.0.2.5"),
    ("v4 on the active already", route("0.0.0.0/0", "10.0.2.5"), RouteScope(), "10.0.2.5"),
    ("v6 canonical", route("::/0", "fd00:2::4"), RouteScope(), "fd00:2::5"),
    ("v6 expanded zeros and capitals", route("::/0", "FD00:0002:0000:0000:0000:0000:0000:0004"), RouteScope(), "fd00:2::5"),
    ("v6 partly expanded", route("::/0", "fd00:2:0:0::4"), RouteScope(), "fd00:2::5"),
    ("v4 with spaces", route("0.0.0.0/0", " 10.0.2.4 "), RouteScope(), "10.0.2.5"),
    ("leading zeros are not an address", route("0.0.0.0/0", "10.0.2.04"), RouteScope(), None),
    ("another appliance", route("0.0.0.0/0", "10.9.9.9"), RouteScope(), None),
    ("load balancer frontend", route("10.0.0.0/8", "10.0.2.100"), RouteScope(), None),
    ("not a virtual appliance hop", route("0.0.0.0/0", "10.0.2.4", kind="VnetLocal"), RouteScope(), None),
    ("next hop type in other case", route("0.0.0.0/0", "10.0.2.4", kind="virtualappliance"), RouteScope(), "10.0.2.5"),
    ("no next hop", route("0.0.0.0/0", None), RouteScope(), None),
    ("excluded prefix contains it", route("10.99.1.0/24", "10.0.2.4"), scope(exclude=["10.99.0.0/16"]), None),
    ("excluded prefix equals it", route("10.99.0.0/16", "10.0.2.4"), scope(exclude=["10.99.0.0/16"]), None),
    ("wider than the excluded prefix", route("10.0.0.0/8", "10.0.2.4"), scope(exclude=["10.99.0.0/16"]), "10.0.2.5"),
    ("v6 excluded", route("fd00:99:1::/64", "fd00:2::4"), scope(exclude=["fd00:99::/32"]), None),
    ("v4 exclude does not touch v6", route("::/0", "fd00:2::4"), scope(exclude=["0.0.0.0/0"]), "fd00:2::5"),
    ("include v4 only: v6 not owned", route("::/0", "fd00:2::4"), scope(include=["0.0.0.0/0"]), None),
    ("include v4 only: v4 owned", route("192.168.0.0/16", "10.0.2.4"), scope(include=["0.0.0.0/0"]), "10.0.2.5"),
    ("include narrower: outside", route("0.0.0.0/0", "10.0.2.4"), scope(include=["192.168.0.0/16"]), None),
    ("include, then exclude", route("192.168.5.0/24", "10.0.2.4"),
     scope(include=["192.168.0.0/16"], exclude=["192.168.5.0/24"]), None),
    ("service tag excluded, other case", route("Storage", "10.0.2.4"), scope(exclude=["storage"]), None),
    ("service tag not excluded", route("AzureCloud", "10.0.2.4"), scope(exclude=["storage"]), "10.0.2.5"),
    ("service tag with region", route("Storage.WestEurope", "10.0.2.4"), scope(exclude=["Storage"]), "10.0.2.5"),
    ("tag included", route("AzureCloud", "10.0.2.4"), scope(include=["azurecloud"]), "10.0.2.5"),
    ("tag not in a prefix include", route("AzureCloud", "10.0.2.4"), scope(include=["0.0.0.0/0"]), None),
    ("route id excluded", route("0.0.0.0/0", "10.0.2.4", name="keep"), scope(excludeRoutes=[f"{TABLE}/routes/keep"]), None),
    ("route id excluded, other case", route("0.0.0.0/0", "10.0.2.4", name="keep"),
     scope(excludeRoutes=[f"{TABLE.upper()}/routes/KEEP"]), None),
    ("another route id", route("0.0.0.0/0", "10.0.2.4", name="move"), scope(excludeRoutes=[f"{TABLE}/routes/keep"]), "10.0.2.5"),
]


@pytest.mark.parametrize(("name", "r", "s", "expected"), OWNERSHIP, ids=[c[0] for c in OWNERSHIP])
def test_ownership(name: str, r: dict[str, Any], s: RouteScope, expected: str | None) -> None:
    assert owned_hop({"id": TABLE}, r, HOPS, s) == expected


def test_route_id_from_the_table_when_azure_gives_none() -> None:
    r = route("0.0.0.0/0", "10.0.2.4", name="keep")
    del r["id"]
    assert owned_hop({"id": TABLE}, r, HOPS, scope(excludeRoutes=[f"{TABLE}/routes/keep"])) is None


@pytest.mark.parametrize(("a", "b"), [("fd00:0:0::4", "fd00::4"), ("FD00::4", "fd00::4"), ("10.0.0.1", "10.0.0.1"),
                                      ("0:0:0:0:0:ffff:a00:1", "::ffff:10.0.0.1")])
def test_addresses_compare_as_addresses(a: str, b: str) -> None:
    assert address(a) == address(b) and address(a) is not None


@pytest.mark.parametrize("text", ["", "10.0.0", "fd00:::4", None, 4, "10.0.0.1/32"])
def test_not_addresses(text: object) -> None:
    assert address(text) is None
