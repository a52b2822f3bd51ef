"""The Bicep in infra/, parsed with pycep-parser, and helpers to read what it declares."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

from pycep import BicepParser

INFRA = Path(__file__).resolve().parents[2] / "infra"


@cache
def parsed(name: str) -> dict[str, Any]:
    return dict(BicepParser().parse(file_path=INFRA / name))


def bicep_files() -> list[str]:
    return sorted(str(p.relative_to(INFRA)) for p in INFRA.rglob("*.bicep"))


def role_actions(join_load_balancers_and_asgs: bool = True) -> list[str]:
    """The failover role's actions, as the template declares them (with its parameter for the LB pool and ASG joins)."""
    variables = parsed("modules/nva-role.bicep")["variables"]
    joins = list(variables["loadBalancerAndAsgJoins"]["value"]) if join_load_balancers_and_asgs else []
    return list(variables["baseActions"]["value"]) + joins


def resource(name: str, file: str = "main.bicep") -> dict[str, Any]:
    return dict(parsed(file)["resources"][name]["config"])


def app_settings() -> dict[str, Any]:
    return {s["name"]: s["value"] for s in resource("app")["properties"]["siteConfig"]["appSettings"]}


def iso_seconds(duration: str) -> int:
    m = re.fullmatch(r"PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?", duration)
    assert m, duration
    h, mi, s = (int(x or 0) for x in m.groups())
    return h * 3600 + mi * 60 + s
