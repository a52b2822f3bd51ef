"""Readiness and the permissions gate against the emulator with RBAC, on a hub whose NICs sit in an ASG and an internal LB pool."""

from __future__ import annotations

import copy
import json
import time
from datetime import timedelta
from typing import Any

import pytest

from emulation.harness import free_port
from shared.domain.policy import ManualRequest, start
from shared.edge.api import handle
from shared.edge.engine import Engine
from shared.errors import RequestError
from tests.infra.bicep import role_actions
from tests.infra.test_role_rbac import PRINCIPAL, scopes
from tests.integration.rig import EventLog, Rig

READS = {"Microsoft.Network/networkInterfaces/read", "Microsoft.Network/publicIPAddresses/read",
         "Microsoft.Network/routeTables/read", "Microsoft.Authorization/permissions/read"}
NEEDED = [a for a in role_actions() if a not in READS]  # every write, join and the operation read a failover needs
ASG_JOIN = "Microsoft.Network/applicationSecurityGroups/joinIpConfiguration/action"


@pytest.fixture
def hub(lb_world: Rig) -> Rig:
    """The emulated deployment, its NICs behind an internal load balancer's backend pool and in an ASG."""
    return lb_world


def grant(world: Rig, actions: list[str]) -> None:
    world.arm.control.rbac({PRINCIPAL: [{"scope": scope, "actions": actions} for scope in scopes()]})


def checks(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in answer["checks"]}


def healthy_engine(world: Rig) -> Engine:
    engine = world.engine()
    for _ in range(2):
        engine.probe_cycle()
    return engine


def arm_writes(world: Rig) -> list[dict[str, Any]]:
    return [r for r in world.arm.control.requests() if r["method"] != "GET"]


def test_ready_with_the_full_role_and_check_writes_nothing_to_azure(hub: Rig, events: EventLog) -> None:
    grant(hub, role_actions())
    engine = healthy_engine(hub)
    hub.arm.control.clear_requests()
    answer = engine.check("hub-fw")
    assert answer["ready"] is True, answer
    assert set(checks(answer)) == {"state", "resources", "placement", "standby", "permissions"}
    assert "granted" in checks(answer)["permissions"]["detail"]
    log = hub.arm.control.requests()
    assert arm_writes(hub) == [] and any("Microsoft.Authorization/permissions" in r["path"] for r in log)
    status = engine.status("hub-fw")
    assert status["readiness"]["ready"] is True and status["readiness"]["failing"] == []
    assert events.named("ReadinessChanged") == []  # ready from the start: nothing to say


@pytest.mark.parametrize("missing", NEEDED)
def test_readiness_names_each_missing_action(hub: Rig, events: EventLog, missing: str) -> None:
    grant(hub, [a for a in role_actions() if a != missing])
    engine = hub.engine()
    engine.probe_cycle()  # the first run reconciles: readiness is computed and recorded, nothing written
    assert arm_writes(hub) == []
    status = engine.status("hub-fw")
    assert "permissions" in status["readiness"]["failing"]
    detail = checks(engine.check("hub-fw"))["permissions"]
    assert detail["ok"] is False and missing in detail["detail"], detail
    changed = events.named("ReadinessChanged")
    assert changed and changed[0]["ready"] is False and missing in changed[0]["detail"]


def test_a_failover_missing_a_join_writes_nothing_then_goes_ahead_once_granted(hub: Rig, events: EventLog) -> None:
    grant(hub, [a for a in role_actions() if a != ASG_JOIN])
    engine = healthy_engine(hub)
    hub.nvas["fw-a"].set_mode("down")
    hub.arm.control.clear_requests()
    for _ in range(3):
        outcome = engine.probe_cycle()
    assert outcome["hub-fw"].startswith("blocked"), outcome
    assert arm_writes(hub) == []
    blocked = events.named("FailoverBlocked")
    assert blocked and blocked[0]["to"] == "fw-b" and blocked[0]["trigger"] == "auto"
    assert events.named("FailoverStarted") == [], "a failover the gate blocks was not started (contract §5)"
    assert ASG_JOIN in blocked[0]["missing"] and "nva-untrust-asg" in blocked[0]["missing"]
    status = engine.status("hub-fw")
    assert (status["active"], status["phase"], status["epoch"]) == ("fw-a", "steady", 0)
    assert hub.pip_holders() == ["fw-a-untrust"]

    grant(hub, role_actions())
    engine.probe_cycle()
    status = engine.status("hub-fw")
    assert (status["active"], status["phase"], status["epoch"]) == ("fw-b", "steady", 1)
    assert hub.pip_holders() == ["fw-b-untrust"]


def test_a_manual_failover_is_refused_409_unless_forced(hub: Rig, events: EventLog) -> None:
    grant(hub, [a for a in role_actions() if a != ASG_JOIN])
    engine = healthy_engine(hub)
    hub.arm.control.clear_requests()
    code, body = handle(lambda: engine, "failover", "hub-fw", json.dumps({"target": "fw-b"}).encode())
    assert (code, body["error"]["code"]) == (409, "FailoverBlocked"), body
    assert ASG_JOIN in body["error"]["message"]
    assert arm_writes(hub) == []
    assert engine.status("hub-fw")["phase"] == "steady"

    with pytest.raises(RequestError) as refused:  # force goes ahead: the write is made, and Azure refuses the join
        engine.failover("hub-fw", ManualRequest(target="fw-b", force=True))
    assert refused.value.code == "FailoverFailed"
    denied = [r for r in arm_writes(hub) if r["status"] == 403]
    assert denied and denied[0]["method"] == "PUT"


def test_permissions_that_cannot_be_read_do_not_block(hub: Rig, events: EventLog) -> None:
    grant(hub, [a for a in role_actions() if a != "Microsoft.Authorization/permissions/read"])
    engine = healthy_engine(hub)
    permissions = checks(engine.check("hub-fw"))["permissions"]
    assert permissions["ok"] is True and "could not be read" in permissions["detail"], permissions
    hub.nvas["fw-a"].set_mode("down")
    for _ in range(2):
        engine.probe_cycle()
    assert engine.status("hub-fw")["active"] == "fw-b" and hub.pip_holders() == ["fw-b-untrust"]
    assert events.named("FailoverBlocked") == []


def test_permissions_api_failing_does_not_block_and_a_timer_run_never_raises(hub: Rig) -> None:
    hub.arm.control.fault("status", status=500, code="InternalServerError", resource="Microsoft.Authorization/permissions")
    engine = healthy_engine(hub)
    permissions = checks(engine.check("hub-fw"))["permissions"]
    assert permissions["ok"] is True and "could not be read" in permissions["detail"]
    hub.nvas["fw-a"].set_mode("down")
    for _ in range(2):
        engine.probe_cycle()
    assert hub.pip_holders() == ["fw-b-untrust"]


def test_placement_fails_on_drift(hub: Rig, events: EventLog) -> None:
    engine = healthy_engine(hub)
    table = next(r for r in hub.hub.resources if r["id"] == hub.hub.listed_tables[0])
    drifted = copy.deepcopy(table)
    drifted["properties"]["routes"][1]["properties"]["nextHopIpAddress"] = "10.0.2.5"
    hub.arm.control.seed([drifted])
    answer = engine.check("hub-fw")
    placement = checks(answer)["placement"]
    assert answer["ready"] is False and placement["ok"] is False
    assert "spoke1-listed1-rt" in placement["detail"] and "10.0.2.5" in placement["detail"]
    assert arm_writes(hub) == []  # check reports drift; it never repairs


def test_resources_names_a_deleted_route_table_and_the_timer_does_not_raise(hub: Rig, events: EventLog) -> None:
    gone = hub.hub.listed_tables[0].replace("listed1", "deleted")
    hub.hub.config["clusters"][0]["routeTables"].append(gone)
    engine = hub.engine()
    outcome = engine.probe_cycle()  # reconciles: readiness names the table; the rest is read and checked all the same
    assert outcome["hub-fw"] == "reconciled: no drift"
    assert "resources" in engine.status("hub-fw")["readiness"]["failing"]
    resources = checks(engine.check("hub-fw"))["resources"]
    assert resources["ok"] is False and gone in resources["detail"]
    assert "resources" in json.loads(events.named("ReadinessChanged")[0]["failing"])


def test_check_reports_no_healthy_standby_and_readiness_changed_flips_back(hub: Rig, events: EventLog) -> None:
    engine = healthy_engine(hub)
    hub.nvas["fw-b"].set_mode("down")
    answer = engine.check("hub-fw")
    assert checks(answer)["standby"]["ok"] is False and "fw-b" in checks(answer)["standby"]["detail"]
    hub.nvas["fw-b"].set_mode("up")
    assert engine.check("hub-fw")["ready"] is True
    flips = [e["ready"] for e in events.named("ReadinessChanged")]
    assert flips == [False, True]


def test_a_grant_on_the_resource_itself_counts_and_not_actions_take_away(hub: Rig) -> None:
    subnet_join = "Microsoft.Network/virtualNetworks/subnets/join/action"
    vnet = hub.hub.nics["fw-a"]["untrust"].split("/providers/")[0] + "/providers/Microsoft.Network/virtualNetworks/hub-vnet"
    nic = hub.hub.nics["fw-b"]["untrust"]
    rest = [a for a in role_actions() if a not in {subnet_join, "Microsoft.Network/networkInterfaces/write"}]
    hub.arm.control.rbac({PRINCIPAL: [
        *({"scope": scope, "actions": rest} for scope in scopes()),
        {"scope": vnet, "actions": [subnet_join]},  # a grant on the virtual network covers its subnets
        {"scope": hub.hub.nics["fw-a"]["untrust"], "actions": ["Microsoft.Network/networkInterfaces/write"]},
        {"scope": nic, "actions": ["Microsoft.Network/networkInterfaces/*"], "notActions": ["*/write"]},
    ]})
    engine = healthy_engine(hub)
    permissions = checks(engine.check("hub-fw"))["permissions"]
    assert permissions["ok"] is False, permissions
    assert f"Microsoft.Network/networkInterfaces/write on {nic}" in permissions["detail"]
    assert subnet_join not in permissions["detail"] and "fw-a-untrust" not in permissions["detail"]
    resource_reads = [r["path"] for r in hub.arm.control.requests() if "/providers/Microsoft.Network/" in r["path"]
                      and r["path"].endswith("Microsoft.Authorization/permissions")]
    assert any("/subnets/" in p for p in resource_reads) and any("fw-b-untrust" in p for p in resource_reads)


def test_check_reports_an_unreachable_state_table_as_the_state_check(hub: Rig) -> None:
    dead = f"http://127.0.0.1:{free_port()}/devstoreaccount1"
    engine = hub.engine(AzureWebJobsStorage=hub.azurite.connection_string.replace(hub.azurite.table_endpoint, dead))
    code, answer = handle(lambda: engine, "check", "hub-fw", b"")
    assert code == 200, answer
    state = checks(answer)["state"]
    assert answer["ready"] is False and state["ok"] is False and "state table" in state["detail"]
    assert checks(answer)["resources"]["ok"] is True
    assert arm_writes(hub) == []


def test_a_drift_repair_and_a_resumed_failover_are_gated_too(hub: Rig, events: EventLog) -> None:
    grant(hub, [a for a in role_actions() if a != "Microsoft.Network/routeTables/write"])
    table = next(r for r in hub.hub.resources if r["id"] == hub.hub.listed_tables[0])
    drifted = copy.deepcopy(table)
    drifted["properties"]["routes"][1]["properties"]["nextHopIpAddress"] = "10.0.2.5"
    hub.arm.control.seed([drifted])
    hub.policy["reconcileEverySeconds"] = 0.5
    engine = hub.engine()
    engine.probe_cycle()  # first sight: readiness names the drift; nothing is written on first sight (contract rev. 3)
    assert arm_writes(hub) == [] and events.named("FailoverBlocked") == []
    engine.probe_cycle()  # fw-a proves healthy: a drift repair may move traffic toward it from now on
    time.sleep(0.6)
    outcome = engine.probe_cycle()  # the reconcile: drift found, its repair blocked
    assert outcome["hub-fw"].startswith("blocked"), outcome
    repair = events.named("FailoverBlocked")[0]
    assert (repair["kind"], repair["to"], repair["trigger"]) == ("repair", "fw-a", "auto")
    assert "routeTables/write" in repair["missing"] and "spoke1-listed1-rt" in repair["missing"]
    assert {"placement", "permissions"} <= set(engine.status("hub-fw")["readiness"]["failing"])

    state = engine.store.load("hub-fw")
    assert state is not None and state.phase == "steady" and state.journal is None
    lapsed = start(state, "failover", "fw-b", "manual", "crashed actor", engine.clock() - timedelta(minutes=1), "gone",
                   timedelta(seconds=1))
    engine.store.save(lapsed)
    outcome = engine.probe_cycle()  # resumes the lapsed failover: blocked before its first write, the lock given back
    assert outcome["hub-fw"].startswith("blocked"), outcome
    assert events.named("FailoverBlocked")[-1]["to"] == "fw-b"
    status = engine.status("hub-fw")
    assert (status["active"], status["phase"], status["epoch"]) == ("fw-a", "steady", 0)
    assert arm_writes(hub) == []


def test_through_the_queue_executor_a_blocked_failover_writes_nothing_and_answers_409(
        hub: Rig, events: EventLog, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.functions.host import pump  # the app's registered `execute` function behind the host's queue listener

    grant(hub, [a for a in role_actions() if a != ASG_JOIN])
    for name, value in hub.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("NVA_HA_CONFIG_FILE", raising=False)
    with pump(hub.env()) as host:
        engine = hub.engine(queue=True)
        for _ in range(2):
            engine.probe_cycle()
            host.drain()
        hub.arm.control.clear_requests()
        code, body = handle(lambda: engine, "failover", "hub-fw", json.dumps({"target": "fw-b"}).encode())
        assert (code, body["error"]["code"]) == (409, "FailoverBlocked"), body
        hub.nvas["fw-a"].set_mode("down")
        for _ in range(3):
            engine.probe_cycle()
            host.drain()
    assert arm_writes(hub) == []
    assert all(ASG_JOIN in e["missing"] for e in events.named("FailoverBlocked")) and len(events.named("FailoverBlocked")) >= 2
    status = engine.status("hub-fw")
    assert (status["active"], status["phase"], status["epoch"]) == ("fw-a", "steady", 0)


def test_a_write_refused_403_refreshes_the_permissions_so_the_next_run_is_blocked(hub: Rig, events: EventLog) -> None:
    """A grant revoked within the cache's life passes the gate once; Azure's 403 on that write makes the permission cache
    read again, so the next run blocks (FailoverBlocked naming the join) instead of writing and being refused again."""
    grant(hub, role_actions())
    engine = healthy_engine(hub)  # the first run's reconcile read the permissions: the gate trusts them now
    grant(hub, [a for a in role_actions() if a != ASG_JOIN])  # revoked after they were read
    hub.nvas["fw-a"].set_mode("down")
    hub.arm.control.clear_requests()
    for _ in range(2):
        engine.probe_cycle()
    refused = [r for r in arm_writes(hub) if r["status"] == 403]
    assert len(refused) == 1 and events.named("FailoverFailed"), refused
    assert events.named("FailoverBlocked") == []
    for _ in range(2):
        engine.probe_cycle()
    blocked = events.named("FailoverBlocked")
    assert blocked and ASG_JOIN in blocked[0]["missing"], events.named("FailoverFailed")
    assert len([r for r in arm_writes(hub) if r["status"] == 403]) == 1, "refused once, then blocked by the gate"
    assert hub.pip_holders() == ["fw-a-untrust"]
