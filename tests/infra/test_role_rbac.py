"""The failover role is sufficient and minimal: with exactly its actions the failover passes; without any one, it fails."""

from __future__ import annotations

import json

import pytest

from tests.infra.bicep import INFRA, role_actions
from tests.integration.rig import Rig

PRINCIPAL = "system-assigned"  # the emulator's name for the app's managed identity


def scopes() -> list[str]:
    """The scopes the example parameters assign the role at: the network resource groups and discovery subscriptions."""
    params = json.loads((INFRA / "main.parameters.example.json").read_text())["parameters"]
    groups = [f"/subscriptions/{g['subscriptionId']}/resourceGroups/{g['resourceGroup']}" for g in params["networkResourceGroups"]["value"]]
    return groups + [f"/subscriptions/{s}" for s in params["discoverySubscriptions"]["value"]]


def fail_over(world: Rig, actions: list[str]) -> dict[str, object]:
    world.arm.control.rbac({PRINCIPAL: [{"scope": scope, "actions": actions} for scope in scopes()]})
    engine = world.engine()
    for _ in range(2):
        engine.probe_cycle()
    world.nvas["fw-a"].set_mode("down")
    for _ in range(2):
        engine.probe_cycle()
    return engine.status("hub-fw")


def test_the_role_is_sufficient(world: Rig) -> None:
    status = fail_over(world, role_actions())
    assert (status["active"], status["phase"]) == ("fw-b", "steady")
    assert world.pip_holders() == ["fw-b-untrust"]
    denied = [r for r in world.arm.control.requests() if r["status"] == 403]
    assert denied == []


@pytest.mark.parametrize("missing", role_actions())
def test_the_role_is_minimal(world: Rig, missing: str) -> None:
    status = fail_over(world, [a for a in role_actions() if a != missing])
    moved = (status["active"], status["phase"]) == ("fw-b", "steady") and world.pip_holders() == ["fw-b-untrust"]
    assert not moved, f"the failover succeeded without {missing}: the role holds an action it does not need"
    denied = [r for r in world.arm.control.requests() if r["status"] == 403]
    assert denied, f"nothing was refused without {missing}"
