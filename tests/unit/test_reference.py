"""docs/reference.md stays true: every configuration field, setting, route and event the code knows is described there,
and everything it describes is known to the code."""

from __future__ import annotations

import ast
import re
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from shared.domain.config import Config
from tests.functions.registered import functions
from tests.infra.test_bicep import settings_the_code_reads

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = (ROOT / "docs" / "reference.md").read_text()

# Described by the reference (contract revision 2) and not yet in the code; each entry is work in flight, and the test
# fails once the code has it (so the entry must go).
PENDING: dict[str, set[str]] = {
    "events": set(),
    "routes": set(),
}


def section(number: int) -> str:
    match = re.search(rf"^## {number}\. .*?(?=^## |\Z)", REFERENCE, re.S | re.M)
    assert match, f"docs/reference.md has no section {number}"
    return match.group(0)


def ticked(text: str) -> set[str]:
    """Every `name` in backticks, split at the separators the tables use (`a` / `b`)."""
    names: set[str] = set()
    for quoted in re.findall(r"`([^`]+)`", text):
        names |= {part for part in re.split(r"[ /,]+", quoted) if part}
    return names


def model_fields(model: type[BaseModel]) -> set[str]:
    names: set[str] = set()
    for name, info in model.model_fields.items():
        names.add(info.alias or name)
        for arg in _types(info.annotation):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                names |= model_fields(arg)
    return names


def _types(annotation: object) -> list[object]:
    out = [annotation]
    for arg in typing.get_args(annotation):
        out += _types(arg)
    return out


def emitted_events() -> set[str]:
    """The names in the first argument of every emit(...) and Event(...) call of the engine (both arms of an if)."""
    names: set[str] = set()
    for path in (ROOT / "shared").rglob("*.py"):  # subpackages too
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in {"emit", "Event"} and node.args:
                names |= {c.value for c in ast.walk(node.args[0]) if isinstance(c, ast.Constant) and isinstance(c.value, str)}
    return names


def registered_routes() -> set[str]:
    routes = set()
    for fn in functions().values():
        trigger = fn.get_trigger()
        route = getattr(trigger, "route", None)
        if route:
            routes.add(str(route))
    return routes


def check(kind: str, known: set[str], described: set[str]) -> None:
    pending = PENDING.get(kind, set())
    assert not known - described, f"{kind} the code has that docs/reference.md does not describe: {sorted(known - described)}"
    assert not pending & known, f"{kind} now in the code: drop them from PENDING: {sorted(pending & known)}"
    unknown = described - known - pending
    assert not unknown, f"{kind} docs/reference.md describes that the code does not know: {sorted(unknown)}"


def test_every_configuration_field_is_described() -> None:
    table = section(2).split("**Which routes")[0]
    rows = re.findall(r"^\| `([^`]+)` \|", table, re.M)  # the field paths of the table's first column
    paths = {part for row in rows for part in re.split(r"[.\[\]/ ]+", row) if part}
    mentioned = set(re.findall(r"[A-Za-z][A-Za-z0-9]*", " ".join(re.findall(r"`([^`]+)`", table))))
    known = model_fields(Config)
    assert not known - mentioned, f"fields the code has that docs/reference.md does not describe: {sorted(known - mentioned)}"
    check("fields", known, paths | (known & mentioned))


def test_every_setting_is_described() -> None:
    described = {n for n in ticked(section(3)) if re.fullmatch(r"(NVA_HA|AzureWebJobsStorage|AZURE_CLIENT|PYTHON_APPLICATIONINSIGHTS)\w*", n)}
    known = settings_the_code_reads() | {"AzureWebJobsStorage__accountName", "AzureWebJobsStorage__credential",
                                          "AzureWebJobsStorage__clientId", "AzureWebJobsStorage__tableServiceUri",
                                          # the default state connection's properties, read as <name>__<property>
                                          # read by the Functions Python worker, set by infra/
                                          "PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY", "PYTHON_APPLICATIONINSIGHTS_LOGGER_NAME"}
    check("settings", known, described | {n for n in known if n.startswith("AzureWebJobsStorage__")})


def test_every_route_is_described() -> None:
    described = {m.group(1) for m in re.finditer(r"`(?:GET|POST) /api/([^`?]+?)(?:\?[^`]*)?`", section(4))}
    check("routes", registered_routes(), described)


def test_every_event_is_described() -> None:
    described = set(re.findall(r"^\| `([A-Z][A-Za-z]+)`(?: / `([A-Z][A-Za-z]+)`)?", section(5), re.M))
    names = {n for pair in described for n in pair if n}
    check("events", emitted_events(), names)


@pytest.mark.parametrize("guarantee", ["One actor per transition", "In scope only", "Resumable", "Blocked, not half-done",
                                       "Never worse", "Minimal writes"])
def test_every_guarantee_of_the_contract_is_stated(guarantee: str) -> None:
    assert f"**{guarantee}.**" in section(6)
