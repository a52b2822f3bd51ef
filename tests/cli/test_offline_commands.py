"""`validate` with the app's own parser, and `plan` reading the emulator with DefaultAzureCredential, writing nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from emulation.functions_host import Host
from emulation.harness import free_port
from shared.domain.config import parse_config
from shared.errors import ConfigError
from tests.cli.conftest import Cli
from tests.integration.rig import Rig

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = json.loads((ROOT / "nva-ha.example.json").read_text())


def write(tmp_path: Path, doc: Any, name: str = "config.json") -> str:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return str(path)


def app_problems(doc: Any) -> list[str]:
    """What the app itself says of the document (shared.domain.config.parse_config, as the runtime calls it)."""
    with pytest.raises(ConfigError) as raised:
        parse_config(doc if isinstance(doc, str) else json.dumps(doc))
    return raised.value.problems


def test_validate_accepts_the_example(offline: Cli) -> None:
    ok = offline("validate", str(ROOT / "nva-ha.example.json"))
    assert ok.code == 0, ok.err
    assert ok.out.splitlines()[0].endswith("nva-ha.example.json: valid")
    assert "hub-fw: NVAs fw-a, fw-b (preferred fw-a)" in ok.out
    answer = offline("validate", "--json", str(ROOT / "nva-ha.example.json")).json()
    assert answer["valid"] is True and answer["clusters"][0]["nvas"] == ["fw-a", "fw-b"]


def broken() -> list[tuple[Any, str]]:
    """Documents a few edits away from the example, and a problem each must name."""
    missing_leg = json.loads(json.dumps(EXAMPLE))
    del missing_leg["clusters"][0]["nvas"][1]["interfaces"]["trust"]
    unknown = json.loads(json.dumps(EXAMPLE))
    unknown["clusters"][0]["policy"]["failbak"] = "never"
    bad_ref = json.loads(json.dumps(EXAMPLE))
    bad_ref["clusters"][0]["preferred"] = "fw-z"
    bad_port = json.loads(json.dumps(EXAMPLE))
    bad_port["clusters"][0]["nvas"][0]["probe"]["port"] = 0
    return [
        (missing_leg, 'clusters[0].nvas[1].interfaces: missing "trust"'),
        (unknown, "clusters[0].policy.failbak: unknown field"),
        (bad_ref, "clusters[0].preferred: 'fw-z' is not an NVA of the cluster"),
        (bad_port, "clusters[0].nvas[0].probe.port: "),
        ('{"clusters": [', "(document): not valid JSON"),
    ]


@pytest.mark.parametrize(("doc", "named"), broken(), ids=["missing-leg", "unknown-field", "bad-reference", "bad-port", "not-json"])
def test_validate_names_the_field_exactly_as_the_app_does(offline: Cli, tmp_path: Path, doc: Any, named: str) -> None:
    path = write(tmp_path, doc)
    rejected = offline("validate", path)
    assert rejected.code == 1
    assert named in rejected.err
    answer = offline("validate", "--json", path)
    assert answer.code == 1
    assert answer.json() == {"valid": False, "errors": app_problems(doc)}


def test_validate_of_a_file_that_cannot_be_read_is_a_usage_error(offline: Cli, tmp_path: Path) -> None:
    missing = offline("validate", str(tmp_path / "nope.json"))
    assert missing.code == 2 and "cannot read" in missing.err
    assert offline("validate").code == 2


def config_file(world: Rig, tmp_path: Path) -> str:
    return write(tmp_path, world.env()["NVA_HA_CONFIG"], "hub.json")


def test_plan_prints_what_the_apps_dry_run_would_and_writes_nothing(app: tuple[Rig, Host], cli: Cli, offline: Cli,
                                                                   tmp_path: Path) -> None:
    world, _ = app
    path = config_file(world, tmp_path)
    world.arm.control.clear_requests()
    planned = offline("plan", path, "--to", "fw-b", "--json")  # the emulator's identity endpoint, through DefaultAzureCredential
    assert planned.code == 0, planned.err
    answer = planned.json()
    requests = world.arm.control.requests()
    assert requests and {r["method"] for r in requests} == {"GET"}
    assert answer["publicIpHolders"] == {world.hub.public_ip: "fw-a"}
    dry_run = cli("failover", "hub-fw", "--target", "fw-b", "--dry-run", "--json").json()
    key = (lambda c: c["resource"])  # noqa: E731
    assert sorted(answer["changes"], key=key) == sorted(dry_run["changes"], key=key)
    assert len(answer["changes"]) == 2 + len(world.hub.all_tables)  # detach, attach, each managed route table
    assert world.writes() == [] and world.pip_holders() == ["fw-a-untrust"]

    table = offline("plan", path, "--to", "fw-b")
    assert table.code == 0
    lines = table.out.splitlines()
    assert lines[0] == "hub-fw: plan of a failover to fw-b (now: publicIPAddresses/hub-fw-pip on fw-a); nothing written"
    assert lines[1].split() == ["RESOURCE", "ACTION", "BEFORE", "AFTER"]
    assert sum("updateRoutes" in line for line in lines) == len(world.hub.all_tables)
    same = offline("plan", path, "--to", "fw-a")
    assert same.code == 0 and "no changes: Azure already matches" in same.out


def test_plan_refuses_bad_arguments_and_a_missing_sign_in(world: Rig, offline: Cli, tmp_path: Path) -> None:
    path = config_file(world, tmp_path)
    unknown = offline("plan", path, "--to", "fw-z")
    assert unknown.code == 2 and "--to 'fw-z': not an NVA of hub-fw (fw-a, fw-b)" in unknown.err
    assert offline("plan", path).code == 2  # --to is required
    invalid = offline("plan", write(tmp_path, {"clusters": []}, "empty.json"), "--to", "fw-b")
    assert invalid.code == 1 and "clusters: must list at least one cluster" in invalid.err
    world.arm.control.clear_requests()
    no_identity = offline("plan", path, "--to", "fw-b", IDENTITY_ENDPOINT=f"http://127.0.0.1:{free_port()}/msi/token")
    assert no_identity.code == 5
    assert "no Azure sign-in" in no_identity.err and "ManagedIdentityCredential" in no_identity.err
    assert world.arm.control.requests() == []
