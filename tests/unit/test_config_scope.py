"""Configuration errors for floatingIps and routeFilter, each naming its field."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulation.estates import floating_estate
from shared.domain.config import parse_config
from shared.errors import ConfigError

GOOD = floating_estate({n: {"protocol": "tcp", "address": "127.0.0.1", "port": 22} for n in ("fw-a", "fw-b")}).config
Edit = Callable[[dict[str, Any]], None]


def second_vip(**fields: Any) -> Edit:
    return lambda d: d["clusters"][0]["floatingIps"].append(
        {"name": "vip-2", "interface": "untrust", "privateIp": "10.0.1.11", **fields})


CASES: list[tuple[str, Edit, str]] = [
    ("prefix too long", lambda d: d["clusters"][0]["routeFilter"].update(exclude=["storage", "10.0.0.0/33"]),
     'clusters[0].routeFilter.exclude[1]: "10.0.0.0/33" is not a prefix'),
    ("host bits", lambda d: d["clusters"][0]["routeFilter"].update(include=["10.0.0.1/8"]),
     'clusters[0].routeFilter.include[0]: "10.0.0.1/8" is not a prefix (host bits set)'),
    ("v6 prefix too long", lambda d: d["clusters"][0]["routeFilter"].update(exclude=["fd00::/129"]),
     'clusters[0].routeFilter.exclude[0]: "fd00::/129" is not a prefix'),
    ("address without length", lambda d: d["clusters"][0]["routeFilter"].update(exclude=["10.0.0.1"]),
     'clusters[0].routeFilter.exclude[0]: "10.0.0.1" is not a prefix (give its length'),
    ("neither prefix nor tag", lambda d: d["clusters"][0]["routeFilter"].update(exclude=["Azure Cloud"]),
     'clusters[0].routeFilter.exclude[0]: "Azure Cloud" is neither a prefix nor a service tag'),
    ("include not a list", lambda d: d["clusters"][0]["routeFilter"].update(include="0.0.0.0/0"),
     "clusters[0].routeFilter.include"),
    ("unknown filter field", lambda d: d["clusters"][0]["routeFilter"].update(excludeRoute=[]),
     "clusters[0].routeFilter.excludeRoute: unknown field"),
    ("excluded route not a route id", lambda d: d["clusters"][0]["routeFilter"].update(
        excludeRoutes=[d["clusters"][0]["routeTables"][0]]), "clusters[0].routeFilter.excludeRoutes[0]: "),
    ("floating: missing privateIp", lambda d: d["clusters"][0]["floatingIps"][0].pop("privateIp"),
     'clusters[0].floatingIps[0]: missing "privateIp"'),
    ("floating: bad private IP", lambda d: d["clusters"][0]["floatingIps"][0].update(privateIp="10.0.1.256"),
     'clusters[0].floatingIps[0].privateIp: "10.0.1.256" is not an IP address'),
    ("floating: bad name", lambda d: d["clusters"][0]["floatingIps"][0].update(name="vip web"),
     'clusters[0].floatingIps[0].name: "vip web" is not an IP configuration name'),
    ("floating: unknown leg", lambda d: d["clusters"][0]["floatingIps"][0].update(interface="dmz"),
     "clusters[0].floatingIps[0].interface: 'dmz' is not an interface"),
    ("floating: public IP not an id", lambda d: d["clusters"][0]["floatingIps"][0].update(publicIp="web-pip"),
     "clusters[0].floatingIps[0].publicIp: is not the resource id of a public IP address"),
    ("floating: public IP of publicIps", lambda d: d["clusters"][0]["floatingIps"][0].update(
        publicIp=d["clusters"][0]["publicIps"][1]["id"]), "clusters[0].floatingIps[0].publicIp: already named by publicIps[1]"),
    ("floating: public IP twice", second_vip(publicIp=GOOD["clusters"][0]["floatingIps"][0]["publicIp"]),
     "clusters[0].floatingIps[1].publicIp: already named by floatingIps[0]"),
    ("floating: a leg's own configuration", lambda d: d["clusters"][0]["floatingIps"][0].update(name="ipconfig1"),
     "clusters[0].floatingIps[0].name: 'ipconfig1' is the IP configuration of nvas[0].interfaces.untrust"),
    ("floating: name twice", second_vip(name="VIP-WEB"), "clusters[0].floatingIps[1].name: 'VIP-WEB' is floatingIps[0] already"),
    ("floating: address twice", second_vip(privateIp="10.0.1.10"),
     "clusters[0].floatingIps[1].privateIp: 10.0.1.10 is floatingIps[0] already"),
    ("floating: unknown field", lambda d: d["clusters"][0]["floatingIps"][0].update(asg="x"),
     "clusters[0].floatingIps[0].asg: unknown field"),
]


@pytest.mark.parametrize(("name", "change", "expected"), CASES, ids=[c[0] for c in CASES])
def test_bad_scope_configuration_names_the_field(name: str, change: Edit, expected: str) -> None:
    doc = copy.deepcopy(GOOD)
    change(doc)
    with pytest.raises(ConfigError) as err:
        parse_config(doc)
    assert any(p.startswith(expected) for p in err.value.problems), err.value.problems


def test_the_estate_parses_and_normalises_addresses() -> None:
    doc = copy.deepcopy(GOOD)
    doc["clusters"][0]["floatingIps"][0]["privateIp"] = "FD00:1:0::10"
    assert parse_config(doc).clusters[0].floating_ips[0].private_ip == "fd00:1::10"


def test_a_cluster_may_manage_only_floating_ips() -> None:
    doc = copy.deepcopy(GOOD)
    for key in ("publicIps", "routeTables", "routeFilter"):
        del doc["clusters"][0][key]
    assert parse_config(doc).clusters[0].route_tables == ()
    del doc["clusters"][0]["floatingIps"]
    with pytest.raises(ConfigError, match="manages nothing"):
        parse_config(doc)


@settings(max_examples=300, deadline=None)
@given(entry=st.one_of(st.text(max_size=40), st.ip_addresses().map(str), st.builds(
    lambda ip, n: f"{ip}/{n}", st.ip_addresses(), st.integers(min_value=-1, max_value=200))))
def test_any_filter_entry_is_accepted_or_named(entry: str) -> None:
    doc = copy.deepcopy(GOOD)
    doc["clusters"][0]["routeFilter"] = {"exclude": [entry]}
    try:
        parse_config(doc)
    except ConfigError as err:
        assert all(p.startswith("clusters[0].routeFilter.exclude[0]: ") for p in err.problems), err.problems
