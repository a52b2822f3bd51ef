"""Configuration is parsed once and rejected as a whole, with a message naming each offending field."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from emulation.topology import two_firewalls
from shared.domain.config import load_config, parse_config
from shared.errors import ConfigError

PROBES = {
    "fw-a": {"protocol": "tcp", "address": "10.0.1.4", "port": 22},
    "fw-b": {"protocol": "https", "address": "fw-b.corp.example", "port": 443, "path": "/health", "expectStatus": [200]},
}
GOOD = two_firewalls(PROBES).config


def mutate(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    doc = copy.deepcopy(GOOD)
    change(doc)
    return doc


def c0(doc: dict[str, Any]) -> dict[str, Any]:
    return dict(doc["clusters"][0])


def test_the_contract_example_shape_parses_with_defaults() -> None:
    config = parse_config(json.dumps(GOOD))
    cluster = config.clusters[0]
    assert cluster.preferred_nva == "fw-a"
    assert cluster.legs == ("untrust", "trust")
    assert cluster.policy.unhealthy_threshold == 2 and cluster.policy.failback == "never"
    assert cluster.policy.reconcile_every_seconds == 300.0
    assert cluster.nvas[1].probe.accepts(200) and not cluster.nvas[1].probe.accepts(204)
    assert cluster.nvas[0].probe.path == "/"
    assert cluster.discover_route_tables is not None and len(cluster.discover_route_tables.subscriptions) == 1


CASES: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("missing leg", lambda d: d["clusters"][0]["nvas"][1]["interfaces"].pop("trust"),
     'clusters[0].nvas[1].interfaces: missing "trust"'),
    ("unknown field", lambda d: d["clusters"][0].update(colour="red"), "clusters[0].colour: unknown field"),
    ("unknown policy field", lambda d: d["clusters"][0].update(policy={"unhealthyTreshold": 3}),
     "clusters[0].policy.unhealthyTreshold: unknown field"),
    ("string threshold", lambda d: d["clusters"][0].update(policy={"unhealthyThreshold": "2"}),
     "clusters[0].policy.unhealthyThreshold"),
    ("zero threshold", lambda d: d["clusters"][0].update(policy={"healthyThreshold": 0}), "clusters[0].policy.healthyThreshold"),
    ("bad failback", lambda d: d["clusters"][0].update(policy={"failback": "sometimes"}), "clusters[0].policy.failback"),
    ("bad name", lambda d: d["clusters"][0].update(name="Hub_FW"), "clusters[0].name"),
    ("duplicate NVA", lambda d: d["clusters"][0]["nvas"][1].update(name="fw-a"), "clusters[0].nvas[1].name: duplicate"),
    ("one NVA", lambda d: d["clusters"][0]["nvas"].pop(), "clusters[0].nvas: a cluster needs at least two NVAs"),
    ("preferred unknown", lambda d: d["clusters"][0].update(preferred="fw-z"), "clusters[0].preferred"),
    ("bad port", lambda d: d["clusters"][0]["nvas"][0]["probe"].update(port=70000), "clusters[0].nvas[0].probe.port"),
    ("bad protocol", lambda d: d["clusters"][0]["nvas"][0]["probe"].update(protocol="icmp"), "clusters[0].nvas[0].probe.protocol"),
    ("bad address", lambda d: d["clusters"][0]["nvas"][0]["probe"].update(address="not an address!"),
     "clusters[0].nvas[0].probe.address"),
    ("empty expectStatus", lambda d: d["clusters"][0]["nvas"][1]["probe"].update(expectStatus=[]),
     "clusters[0].nvas[1].probe.expectStatus"),
    ("not an ipconfig id", lambda d: d["clusters"][0]["nvas"][0]["interfaces"].update(trust="/subscriptions/x/nic"),
     "clusters[0].nvas[0].interfaces"),
    ("pip on unknown leg", lambda d: d["clusters"][0]["publicIps"][0].update(interface="dmz"), "clusters[0].publicIps[0].interface"),
    ("pip not a pip id", lambda d: d["clusters"][0]["publicIps"][0].update(id="/subscriptions/x"), "clusters[0].publicIps[0].id"),
    ("table not an id", lambda d: d["clusters"][0]["routeTables"].append("spoke1-rt"), "clusters[0].routeTables"),
    ("table twice", lambda d: d["clusters"][0]["routeTables"].append(d["clusters"][0]["routeTables"][0]),
     "clusters[0].routeTables[2]: listed twice"),
    ("bad subscription", lambda d: d["clusters"][0]["discoverRouteTables"].update(subscriptions=["sub-1"]),
     "clusters[0].discoverRouteTables.subscriptions"),
    ("duplicate cluster", lambda d: d["clusters"].append(copy.deepcopy(d["clusters"][0])), "clusters[1].name: duplicate"),
    ("no clusters", lambda d: d.update(clusters=[]), "clusters: must list at least one cluster"),
    ("missing probe", lambda d: d["clusters"][0]["nvas"][0].pop("probe"), 'clusters[0].nvas[0]: missing "probe"'),
    ("unknown top field", lambda d: d.update(version=2), "version: unknown field"),
    ("same ipconfig twice", lambda d: d["clusters"][0]["nvas"][1]["interfaces"].update(
        trust=d["clusters"][0]["nvas"][0]["interfaces"]["trust"]), "clusters[0].nvas[1].interfaces.trust: the same IP configuration"),
]


@pytest.mark.parametrize(("name", "change", "expected"), CASES, ids=[c[0] for c in CASES])
def test_bad_configuration_names_the_field(name: str, change: Callable[[dict[str, Any]], None], expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(mutate(change))
    assert any(p.startswith(expected) for p in err.value.problems), err.value.problems


@pytest.mark.parametrize("document", ["", "[]", "{", '{"clusters": 3}', "null"])
def test_not_a_document(document: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(document)
    assert err.value.problems and ":" in err.value.problems[0]


def test_exactly_one_source(tmp_path: Path) -> None:
    (tmp_path / "nva.json").write_text(json.dumps(GOOD))
    assert load_config({"NVA_HA_CONFIG_FILE": "nva.json"}, tmp_path).clusters[0].name == "hub-fw"
    assert load_config({"NVA_HA_CONFIG": json.dumps(GOOD)}, tmp_path).clusters[0].name == "hub-fw"
    for env in ({}, {"NVA_HA_CONFIG": "{}", "NVA_HA_CONFIG_FILE": "nva.json"}):
        with pytest.raises(ConfigError, match="exactly one of NVA_HA_CONFIG and NVA_HA_CONFIG_FILE"):
            load_config(env, tmp_path)
    with pytest.raises(ConfigError, match="NVA_HA_CONFIG_FILE: cannot read"):
        load_config({"NVA_HA_CONFIG_FILE": "missing.json"}, tmp_path)


def test_the_shipped_example_is_valid() -> None:
    example = Path(__file__).resolve().parents[2] / "nva-ha.example.json"
    assert parse_config(example.read_text()).clusters[0].policy.failback == "never"
