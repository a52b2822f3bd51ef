"""The bad day on the production-shaped hub: writes that end Failed, tables that cannot be read or written, lost answers."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from azure.core.exceptions import ServiceRequestError, ServiceResponseError
from azure.core.pipeline.transport import RequestsTransport
from azure.data.tables import TableClient

from emulation.bad_day import mend, spoil
from emulation.bad_day import table as bad_day_table
from emulation.harness import Azurite, NvaProcess
from shared.adapters.table_store import CLIENT_OPTIONS, TableStateStore
from shared.domain.policy import ManualRequest
from shared.edge.engine import Engine
from shared.errors import RequestError
from tests.conftest import _deployed
from tests.infra.bicep import role_actions
from tests.infra.test_role_rbac import PRINCIPAL
from tests.integration.rig import EventLog, Rig
from tests.integration.test_executor import queued
from tests.integration.test_failover import FAILOVER_WRITES, OWNED, assert_on, settle, written


def fail_over(world: Rig) -> dict[str, str]:
    """fw-a goes down; the cycles that follow fail over (the first one counts the first bad probe)."""
    engine = world.engine()
    world.nvas["fw-a"].set_mode("down")
    world.arm.control.clear_requests()
    engine.probe_cycle()
    return engine.probe_cycle()


def test_an_attach_that_ends_failed_with_its_body_kept_is_written_again_and_completes_only_on_succeeded(
        world: Rig, events: EventLog) -> None:
    settle(world)
    # Azure keeps the attach's body (the public IP on fw-b) and marks the NIC Failed: the content is right, the write is not.
    world.arm.control.fault("fail", operation="NetworkInterfaces_CreateOrUpdate", resource="fw-b-untrust", times=1,
                            code="InternalServerError")
    fail_over(world)
    nic = world.snapshot()[world.hub.nics["fw-b"]["untrust"].lower()]
    assert nic["properties"]["provisioningState"] == "Succeeded"
    assert written(world) == sorted([*FAILOVER_WRITES, "fw-b-untrust"]), "the Failed attach is written once more"
    assert_on(world, "fw-b", "10.0.2.5")
    completed = events.named("FailoverCompleted")
    assert len(completed) == 1 and completed[0]["to"] == "fw-b"
    assert [c["action"] for c in json.loads(completed[0]["changes"]) if c["resource"].endswith("fw-b-untrust")] == ["attachPublicIp"]


# ------------------------------------------------------------------ partial beats none
@pytest.fixture
def estate(azurite: Azurite, table_name: str, nva_factory: Callable[[], NvaProcess],
           monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    """The hub across three subscriptions, two configured tables in each; the second and third are discovered too."""
    yield from _deployed(azurite, table_name, nva_factory, monkeypatch, subscriptions=3, listed_per_sub=2)


def table(world: Rig, name: str) -> str:
    return bad_day_table(world.hub, name)


def bad_day(world: Rig) -> dict[str, str]:
    """emulation.bad_day.spoil on this estate, with the role the templates grant."""
    return spoil(world.arm.control, world.hub, PRINCIPAL, role_actions())


# The third subscription cannot be listed, but its configured tables' resource group can: the table found there is managed.
MOVED = ("spoke2-listed1-rt", "spoke2-found1-rt", "spoke3-listed1-rt", "spoke3-found1-rt")
LEFT = ("spoke1-listed1-rt", "spoke2-listed2-rt", "spoke3-listed2-rt")  # not permitted, locked, denied by policy


def owned_hops(world: Rig) -> dict[str, set[str | None]]:
    return {name: {routes[r] for r in OWNED} for name, routes in world.hops().items() if name in MOVED + LEFT}


def assert_skipped(skipped: list[dict[str, str]], expected: dict[str, str]) -> None:
    by_resource = {s["resource"].lower(): s["reason"] for s in skipped}
    assert set(by_resource) == {r.lower() for r in expected}, by_resource
    for resource, word in expected.items():
        assert word in by_resource[resource.lower()], (resource, by_resource[resource.lower()])


def test_an_automatic_failover_moves_everything_it_can_and_names_each_table_it_skipped(
        estate: Rig, events: EventLog) -> None:
    expected = bad_day(estate)
    settle(estate)
    readiness = {c["name"]: c for c in estate.engine().check("hub-fw")["checks"]}
    assert "spoke1-listed2-rt" in readiness["resources"]["detail"], readiness["resources"]
    assert estate.hub.subscriptions[2] in readiness["resources"]["detail"]
    assert not readiness["permissions"]["ok"] and "spoke1-listed1-rt" in readiness["permissions"]["detail"]

    fail_over(estate)
    status = estate.engine().status("hub-fw")
    assert (status["active"], status["phase"], status["epoch"]) == ("fw-b", "steady", 1)
    assert estate.pip_holders() == ["fw-b-untrust"]
    hops = owned_hops(estate)
    assert {n: hops[n] for n in MOVED} == {n: {"10.0.2.5"} for n in MOVED}
    assert {n: hops[n] for n in LEFT} == {n: {"10.0.2.4"} for n in LEFT}
    completed = events.named("FailoverCompleted")
    assert len(completed) == 1 and events.named("FailoverBlocked") == []
    assert_skipped(json.loads(completed[0]["skipped"]), expected)
    history = estate.engine().store.history("hub-fw")
    assert [h["epoch"] for h in history] == [1]
    assert_skipped(history[0]["skipped"], expected)

    # Fixed: the grant, the lock, the listing. The next reconcile writes what was skipped (the deleted table is gone).
    mend(estate.arm.control)
    estate.policy["reconcileEverySeconds"] = 0.2
    engine = estate.engine()
    time.sleep(0.3)
    engine.probe_cycle()
    assert owned_hops(estate) == {n: {"10.0.2.5"} for n in MOVED + LEFT}
    assert len(events.named("FailoverCompleted")) == 1


def test_a_manual_failover_from_a_healthy_nva_is_all_or_nothing_unless_forced(estate: Rig, events: EventLog) -> None:
    expected = bad_day(estate)
    settle(estate)
    engine = estate.engine()
    estate.arm.control.clear_requests()
    planned = engine.failover("hub-fw", ManualRequest(target="fw-b", dry_run=True))  # names what it could not read
    assert {s["resource"] for s in planned["skipped"]} == {table(estate, "spoke1-listed2-rt"), f"/subscriptions/{estate.hub.subscriptions[2]}"}
    with pytest.raises(RequestError) as refused:
        engine.failover("hub-fw", ManualRequest(target="fw-b"))
    assert (refused.value.status, refused.value.code) == (409, "FailoverBlocked")
    assert "spoke1-listed2-rt" in refused.value.message and "all or nothing" in refused.value.message
    assert estate.writes() == [] and estate.pip_holders() == ["fw-a-untrust"]
    assert engine.status("hub-fw")["phase"] == "steady"

    answer = engine.failover("hub-fw", ManualRequest(target="fw-b", force=True))
    assert (answer["from"], answer["to"]) == ("fw-a", "fw-b")
    # Forced: no gate, so the table it may not write is tried, refused by Azure and skipped with Azure's reason.
    assert_skipped(answer["skipped"], {**expected, table(estate, "spoke1-listed1-rt"): "AuthorizationFailed"})
    assert estate.pip_holders() == ["fw-b-untrust"]
    hops = owned_hops(estate)
    assert {n: hops[n] for n in MOVED} == {n: {"10.0.2.5"} for n in MOVED}
    assert len(events.named("FailoverCompleted")) == 1


# ------------------------------------------------------------------ completion exactly once
class Losing(RequestsTransport):
    """The state table's transport, losing answers the way a network does: `lose` picks the requests whose answer is
    lost after they landed (ServiceResponseError: the SDK retries), `refuse` those that never get there (once each)."""

    def __init__(self, lose: Callable[[Any], bool] = lambda r: False, refuse: Callable[[Any], bool] = lambda r: False) -> None:
        super().__init__()
        self.lose, self.refuse = lose, refuse
        self.lost: list[str] = []
        self.refused: list[str] = []

    def send(self, request: Any, **kwargs: Any) -> Any:
        if not self.refused and self.refuse(request):
            self.refused.append(request.url)
            raise ServiceRequestError("connection refused")
        response = super().send(request, **kwargs)
        if not self.lost and self.lose(request):
            self.lost.append(request.url)
            raise ServiceResponseError("connection reset after the request was sent")
        return response


def body_of(request: Any) -> str:
    data = request.data if isinstance(request.data, str | bytes) else request.body
    return data.decode() if isinstance(data, bytes) else str(data or "")


def with_transport(world: Rig, engine: Engine, transport: Losing, retry_total: int) -> None:
    client = TableClient.from_connection_string(world.azurite.connection_string, table_name=world.table,
                                                transport=transport, **{**CLIENT_OPTIONS, "retry_total": retry_total})
    engine.store = TableStateStore(client)


def completes(world: Rig, events: EventLog, engine: Engine) -> None:
    world.nvas["fw-a"].set_mode("down")
    for _ in range(3):
        engine.probe_cycle()
    status = engine.status("hub-fw")
    assert (status["active"], status["phase"], status["epoch"]) == ("fw-b", "steady", 1)
    assert len(events.named("FailoverCompleted")) == 1, "exactly one FailoverCompleted"
    history = engine.store.history("hub-fw")
    assert [h["epoch"] for h in history] == [1], "exactly one history record"
    assert len(history[0]["changes"]) == len(FAILOVER_WRITES)
    assert json.loads(events.named("FailoverCompleted")[0]["changes"]) == history[0]["changes"]


def test_a_lost_answer_to_the_completing_write_is_recognised_as_ours(world: Rig, events: EventLog) -> None:
    engine = world.engine()
    settle(world)

    def completing(request: Any) -> bool:  # the state write that ends the failover: steady on fw-b, journal cleared
        text = body_of(request)
        return request.method == "PUT" and '"active": "fw-b"' in text and '"journal": ""' in text
    transport = Losing(lose=completing)
    with_transport(world, engine, transport, retry_total=CLIENT_OPTIONS["retry_total"])
    completes(world, events, engine)
    assert transport.lost, "the completing write's answer was lost (and the SDK's retry got 412)"
    assert events.named("RunFailed") == []


def test_a_history_insert_that_fails_once_is_recorded_by_the_next_run(world: Rig, events: EventLog) -> None:
    engine = world.engine()
    settle(world)
    transport = Losing(refuse=lambda r: r.method == "POST" and '"PartitionKey": "history.' in body_of(r))
    with_transport(world, engine, transport, retry_total=0)
    completes(world, events, engine)
    assert transport.refused, "the history insert failed once"


def test_two_runs_that_both_see_a_completion_not_yet_recorded_announce_it_once(world: Rig, events: EventLog) -> None:
    engine = world.engine()
    settle(world)
    transport = Losing(refuse=lambda r: r.method == "POST" and '"PartitionKey": "history.' in body_of(r))
    with_transport(world, engine, transport, retry_total=0)
    world.nvas["fw-a"].set_mode("down")
    for _ in range(2):
        engine.probe_cycle()
    state = engine.store.load("hub-fw")
    assert transport.refused and state is not None and state.unrecorded == 1, "completed, its record still due"
    assert events.named("FailoverCompleted") == []
    others = [world.engine() for _ in range(3)]
    gate = threading.Barrier(len(others))

    def run(e: Engine) -> None:
        gate.wait()
        e.probe_cycle()
    threads = [threading.Thread(target=run, args=(e,)) for e in others]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(events.named("FailoverCompleted")) == 1
    assert [h["epoch"] for h in engine.store.history("hub-fw")] == [1]
    final = engine.store.load("hub-fw")
    assert final is not None and final.unrecorded is None


def test_through_the_queue_executor_the_failover_completes_with_the_same_skipped(estate: Rig, events: EventLog) -> None:
    expected = bad_day(estate)
    settle(estate)
    engine = estate.engine(queue=True)
    estate.nvas["fw-a"].set_mode("down")
    engine.probe_cycle()
    engine.probe_cycle()
    [message] = queued(estate)
    assert "done" in engine.execute("hub-fw", message)
    assert estate.pip_holders() == ["fw-b-untrust"]
    [completed] = events.named("FailoverCompleted")
    assert_skipped(json.loads(completed["skipped"]), expected)
    assert_skipped(engine.store.history("hub-fw")[0]["skipped"], expected)
