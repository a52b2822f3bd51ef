"""The failover role is sufficient and minimal, on a hub whose NICs sit in an internal load balancer's backend pool and an
application security group: with exactly its actions the failover passes and readiness is clean; without any one, the failover
fails (a write or a join refused, or blocked by the gate) or, for the permissions read, readiness says it cannot check."""

from __future__ import annotations

import json

import pytest

from tests.infra.bicep import INFRA, role_actions
from tests.integration.rig import EventLog, Rig

PRINCIPAL = "system-assigned"  # the emulator's name for the app's managed identity


def scopes() -> list[str]:
    """The scopes the example parameters assign the role at: the network resource groups and discovery subscriptions."""
    params = json.loads((INFRA / "main.parameters.example.json").read_text())["parameters"]
    groups = [f"/subscriptions/{g['subscriptionId']}/resourceGroups/{g['resourceGroup']}" for g in params["networkResourceGroups"]["value"]]
    return groups + [f"/subscriptions/{s}" for s in params["discoverySubscriptions"]["value"]]


@pytest.fixture
def world(lb_world: Rig) -> Rig:
    """The emulated deployment with every NIC leg in an internal load balancer's backend pool and an ASG."""
    return lb_world


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
    readiness = {c["name"]: c for c in world.engine().check("hub-fw")["checks"]}["permissions"]
    assert readiness["ok"] is True and "could not be read" not in readiness["detail"], readiness


def test_without_the_load_balancer_and_asg_parameter_the_failover_is_blocked(world: Rig) -> None:
    status = fail_over(world, role_actions(join_load_balancers_and_asgs=False))
    assert (status["active"], status["phase"]) == ("fw-a", "steady")
    assert [r for r in world.writes()] == []


@pytest.mark.parametrize("missing", role_actions())
def test_the_role_is_minimal(world: Rig, events: EventLog, missing: str) -> None:
    status = fail_over(world, [a for a in role_actions() if a != missing])
    moved = (status["active"], status["phase"]) == ("fw-b", "steady") and world.pip_holders() == ["fw-b-untrust"]
    # Partial beats none: without a route table action the failover completes, skipping the tables: not done either.
    moved = moved and all(json.loads(e["skipped"]) == [] for e in events.named("FailoverCompleted"))
    denied = [r for r in world.arm.control.requests() if r["status"] == 403]
    blocked = [e for e in events.named("FailoverBlocked") if missing in e["missing"]]
    skipped = [e for e in events.named("FailoverCompleted") if missing in e["skipped"]]
    assert denied or blocked or skipped, f"nothing was refused, blocked or skipped without {missing}"
    if missing == "Microsoft.Authorization/permissions/read":  # needed to check, not to fail over
        permissions = {c["name"]: c for c in world.engine().check("hub-fw")["checks"]}["permissions"]
        assert "could not be read" in permissions["detail"], permissions
        return
    assert not moved, f"the failover succeeded without {missing}: the role holds an action it does not need"
