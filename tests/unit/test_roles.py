"""Role and probe configuration (rev. 3), header settings resolved at wiring and never shown, role answers classified."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from emulation.topology import two_firewalls
from shared.adapters.headers import Secrets
from shared.adapters.roles import classify, pointer
from shared.domain.config import parse_config
from shared.domain.config_probe import Role
from shared.errors import ConfigError

SECRET = "s3cr3t-api-key-value"
GOOD = two_firewalls({
    "fw-a": {"protocol": "http", "address": "10.0.1.4", "port": 80, "path": "/health", "expectBody": '"dataplane": "up"',
             "headers": {"Authorization": "%FW_A_KEY%"}},
    "fw-b": {"protocol": "tcp", "address": "10.0.1.5", "port": 22},
}).config


def doc(**changes: Any) -> dict[str, Any]:
    d = copy.deepcopy(GOOD)
    c = d["clusters"][0]
    for path, value in changes.items():
        nva, field = path.split("__")
        c["nvas"][int(nva[1:])][field] = value
    return d


def problems(d: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as err:
        parse_config(d)
    return err.value.problems


def test_probe_body_and_headers_parse() -> None:
    probe = parse_config(GOOD).clusters[0].nvas[0].probe
    assert probe.expect_body == '"dataplane": "up"' and probe.headers == {"Authorization": "%FW_A_KEY%"}


@pytest.mark.parametrize(("nva", "probe", "message"), [
    (0, {"protocol": "http", "address": "10.0.1.4", "port": 80, "headers": {"X-Key": SECRET}},
     "clusters[0].nvas[0].probe.headers: 'X-Key' must name an app setting as %<setting name>%"),
    (1, {"protocol": "tcp", "address": "10.0.1.5", "port": 22, "expectBody": "ok"},
     "clusters[0].nvas[1].probe: expectBody applies to http and https only"),
    (1, {"protocol": "tcp", "address": "10.0.1.5", "port": 22, "headers": {"X": "%A%"}},
     "clusters[0].nvas[1].probe: headers apply to http and https only"),
    (0, {"protocol": "http", "address": "10.0.1.4", "port": 80, "headers": {"Host": "%A%"}},
     "clusters[0].nvas[0].probe.headers: 'Host' is not a header a probe may send"),
])
def test_bad_probes_are_named_and_a_literal_secret_is_never_repeated(nva: int, probe: dict[str, Any], message: str) -> None:
    found = problems(doc(**{f"n{nva}__probe": probe}))
    assert any(p.startswith(message) for p in found), found
    assert not any(SECRET in p for p in found)


ROLE = {"protocol": "https", "address": "10.0.1.4", "port": 443, "path": "/mgmt/tm/cm/failover-status",
        "headers": {"Authorization": "%BIGIP_AUTH%"}, "activeWhen": {"bodyContains": "ACTIVE"}}


@pytest.mark.parametrize(("role", "policy", "message"), [
    ({**ROLE, "activeWhen": {}}, {}, "clusters[0].nvas[0].role.activeWhen: give at least one of status, bodyContains and json"),
    ({"protocol": "tcp", "address": "10.0.1.4", "port": 8008, "activeWhen": {"status": [200]}}, {},
     "clusters[0].nvas[0].role: activeWhen applies to http and https; a tcp role is active when the port accepts"),
    ({**ROLE, "activeWhen": {"json": {"pointer": "ha/state", "equals": "active"}}}, {},
     "clusters[0].nvas[0].role.activeWhen.json.pointer: must be a JSON pointer"),
    ({**ROLE, "timeoutSeconds": 3}, {"probeTimeoutSeconds": 2},
     "clusters[0].nvas[0].role.timeoutSeconds: 3 is above policy.probeTimeoutSeconds (2)"),
    (ROLE, {"decider": "appliance"},
     'clusters[0].nvas[1].role: missing: policy.decider "appliance" needs a role on every NVA'),
    (ROLE, {"decider": "vrrp"}, "clusters[0].policy.decider: Input should be 'probes' or 'appliance'"),
])
def test_bad_roles_are_named(role: dict[str, Any], policy: dict[str, Any], message: str) -> None:
    d = doc(n0__role=role)
    d["clusters"][0]["policy"] = policy
    found = problems(d)
    assert any(p.startswith(message) for p in found), found


def test_appliance_decider_with_a_role_on_every_nva_parses() -> None:
    d = doc(n0__role=ROLE, n1__role={"protocol": "tcp", "address": "10.0.1.5", "port": 8008})
    d["clusters"][0]["policy"] = {"decider": "appliance"}
    cluster = parse_config(d).clusters[0]
    assert cluster.policy.decider == "appliance" and cluster.nvas[1].role is not None
    assert parse_config(GOOD).clusters[0].policy.decider == "probes"


def test_header_settings_resolve_at_wiring_and_a_missing_one_is_named_without_any_value() -> None:
    config = parse_config(doc(n0__role=ROLE))
    secrets = Secrets.from_settings(config, {"FW_A_KEY": SECRET, "BIGIP_AUTH": "Basic abc"})
    assert secrets.headers(config.clusters[0].nvas[0].probe.headers) == {"Authorization": SECRET}
    assert SECRET not in repr(secrets) and SECRET not in str(secrets)
    with pytest.raises(ConfigError) as err:
        Secrets.from_settings(config, {"BIGIP_AUTH": "Basic abc"})
    assert err.value.problems == ["clusters[0].nvas[0].probe.headers.Authorization: the app setting FW_A_KEY it names is not set (or empty)"]


# ----------------------------------------------------------------------------------------------- classify
def role(**active_when: Any) -> Role:
    body = {"protocol": "http", "address": "10.0.1.4", "port": 80, **({"activeWhen": active_when} if active_when else {})}
    return Role.model_validate_json(json.dumps(body))  # as parse_config does (strict: JSON lists are tuples)


@pytest.mark.parametrize(("active_when", "status", "body", "answer"), [
    ({}, 200, "", "active"),  # default: any 2xx
    ({}, 503, "", "standby"),
    ({"status": [200]}, 200, "", "active"),
    ({"status": [200], "bodyContains": "ACTIVE"}, 200, "STANDBY", "standby"),
    ({"bodyContains": "ACTIVE"}, 200, "failover status: ACTIVE", "active"),
    ({"json": {"pointer": "/ha/state", "equals": "active"}}, 200, '{"ha": {"state": "active"}}', "active"),
    ({"json": {"pointer": "/ha/state", "equals": "active"}}, 200, '{"ha": {"state": "passive"}}', "standby"),
    ({"json": {"pointer": "/ha/state", "equals": "active"}}, 200, "<html>", "standby"),
    ({"json": {"pointer": "/members/0/primary", "equals": "true"}}, 200, '{"members": [{"primary": true}]}', "active"),
    ({"json": {"pointer": "/a~1b", "equals": "1"}}, 200, '{"a/b": 1}', "active"),
    ({"json": {"pointer": "/missing", "equals": "x"}}, 200, "{}", "standby"),
])
def test_role_answers_are_classified(active_when: dict[str, Any], status: int, body: str, answer: str) -> None:
    assert classify(role(**active_when), status, body).role == answer


def test_json_pointer_root_and_arrays() -> None:
    assert pointer({"a": [1, {"b": 2}]}, "/a/1/b") == 2
    assert pointer([1], "") == [1]


def test_the_settings_resolve_header_values_and_never_show_them(tmp_path: Any) -> None:
    from shared.edge.settings import read_settings

    d = doc(n0__role=ROLE)
    env = {"NVA_HA_CONFIG": json.dumps(d), "FW_A_KEY": SECRET, "BIGIP_AUTH": "Basic abc"}
    settings = read_settings(env, tmp_path)
    assert settings.secrets.headers({"A": "%FW_A_KEY%"}) == {"A": SECRET}
    assert SECRET not in repr(settings) and SECRET not in str(settings)
    with pytest.raises(ConfigError) as err:
        read_settings({"NVA_HA_CONFIG": json.dumps(d), "FW_A_KEY": SECRET}, tmp_path)
    assert "role.headers.Authorization: the app setting BIGIP_AUTH" in str(err.value) and SECRET not in str(err.value)


def test_the_readme_vendor_snippets_are_valid_roles() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = readme.split("The appliances' own answers, as `role` snippets")[1].split("```jsonc\n")[1].split("```")[0]
    snippets = []
    for chunk in block.split("\n\n"):
        text = "\n".join(line for line in chunk.splitlines() if not line.lstrip().startswith("//")).strip()
        if text:
            snippets.append(json.loads("{" + text + "}")["role"])
    assert len(snippets) == 5
    for snippet in snippets:
        Role.model_validate_json(json.dumps(snippet))
