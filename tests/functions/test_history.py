"""GET clusters/{cluster}/history through the registered function, against Azurite and the emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.functions as func
import pytest
from azure.data.tables import TableServiceClient
from azure.functions.timer import TimerRequest

from emulation.harness import Azurite
from emulation.queuepump import drain_all
from shared.adapters.table_store import TableStateStore
from shared.domain.state import FailoverRecord, Timeline, WriteTiming
from tests.functions.host import pump
from tests.functions.registered import functions
from tests.integration.rig import Rig


def get(name: str, route: str, cluster: str | None, params: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    req = func.HttpRequest("GET", f"https://nva-failover.example/api/{route}", params=params or {},
                           route_params={"cluster": cluster} if cluster else {}, body=b"")
    resp = functions()[name].get_user_function()(req)
    assert resp.mimetype == "application/json"
    return resp.status_code, json.loads(resp.get_body())


def post(name: str, cluster: str, body: str) -> dict[str, Any]:
    req = func.HttpRequest("POST", f"https://nva-failover.example/api/clusters/{cluster}/{name}",
                           route_params={"cluster": cluster}, body=body.encode())
    resp = functions()[name].get_user_function()(req)
    assert resp.status_code == 200, resp.get_body()
    answer: dict[str, Any] = json.loads(resp.get_body())
    return answer


def tick(times: int = 1) -> None:
    for _ in range(times):
        functions()["probe"].get_user_function()(TimerRequest())
        drain_all()  # what the run queued, carried out by the executor


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def app_env(world: Rig, monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    world.configure_app(monkeypatch)
    with pump(world.env()):  # the host's queue listener
        yield world


def test_history_of_an_automatic_then_a_manual_failover(app_env: Rig) -> None:
    tick(2)
    assert get("history", "clusters/hub-fw/history", "hub-fw") == (200, {"cluster": "hub-fw", "failovers": []})
    app_env.nvas["fw-a"].set_mode("down")
    tick(2)  # two failed probes: fw-a is declared failed and the failover runs in the same cycle
    app_env.nvas["fw-a"].set_mode("up")
    tick(2)
    post("failover", "hub-fw", '{"target": "fw-a", "reason": "back after repair"}')

    status, body = get("history", "clusters/hub-fw/history", "hub-fw")
    assert status == 200 and body["cluster"] == "hub-fw"
    manual, auto = body["failovers"]
    assert (manual["epoch"], manual["from"], manual["to"], manual["trigger"], manual["reason"]) == (
        2, "fw-b", "fw-a", "manual", "back after repair")
    assert (auto["epoch"], auto["from"], auto["to"], auto["trigger"]) == (1, "fw-a", "fw-b", "auto")
    assert manual["detectedAt"] is None
    # Detection: fw-a's first failed probe, one probe cycle before the failover started.
    assert when(auto["detectedAt"]) < when(auto["startedAt"]) < when(auto["completedAt"])
    for record in (auto, manual):
        assert {c["action"] for c in record["changes"]} == {"detachPublicIp", "attachPublicIp", "updateRoutes"}
        writes = record["writes"]
        assert sorted((w["resource"], w["action"]) for w in writes) == sorted(
            (c["resource"], c["action"]) for c in record["changes"])
        for w in writes:
            assert when(record["startedAt"]) <= when(w["startedAt"]) <= when(w["completedAt"]) <= when(record["completedAt"])
            assert w["durationMs"] == int((when(w["completedAt"]) - when(w["startedAt"])).total_seconds() * 1000)
        assert [w["startedAt"] for w in writes] == sorted(w["startedAt"] for w in writes)
        # The public IP is detached before it is attached: the attach starts after the detach completed.
        detach = next(w for w in writes if w["action"] == "detachPublicIp")
        attach = next(w for w in writes if w["action"] == "attachPublicIp")
        assert when(attach["startedAt"]) >= when(detach["completedAt"])
    assert set(auto) == {"epoch", "from", "to", "trigger", "reason", "startedAt", "completedAt", "durationMs",
                         "detectedAt", "changes", "skipped", "writes"}
    assert auto["skipped"] == [] and manual["skipped"] == []

    assert [f["epoch"] for f in get("history", "clusters/hub-fw/history", "hub-fw", {"limit": "1"})[1]["failovers"]] == [2]
    assert [f["epoch"] for f in get("history", "clusters/hub-fw/history", "hub-fw", {"limit": "200"})[1]["failovers"]] == [2, 1]
    last = get("get_cluster", "clusters/hub-fw", "hub-fw")[1]["lastFailover"]
    assert {k: manual[k] for k in last} == last  # a history record is lastFailover's fields plus more


@pytest.mark.parametrize("limit", ["0", "201", "ten", "-1", "1.5", "", " 5", "99999"])
def test_history_rejects_a_bad_limit(app_env: Rig, limit: str) -> None:
    status, body = get("history", "clusters/hub-fw/history", "hub-fw", {"limit": limit})
    assert status == 400 and body["error"]["code"] == "InvalidRequest"
    assert "limit: must be an integer from 1 to 200" in body["error"]["message"]


def test_history_of_an_unknown_cluster(app_env: Rig) -> None:
    for name in ("nope", "Bad Name"):
        status, body = get("history", f"clusters/{name}/history", name)
        assert (status, body["error"]["code"]) == (404, "ClusterNotFound")


def test_a_very_large_failover_is_spilled_over_several_properties_and_cut_only_past_the_row_limit(
        azurite: Azurite, table_name: str) -> None:
    table = TableServiceClient.from_connection_string(azurite.connection_string).get_table_client(table_name)
    store = TableStateStore(table)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    rid = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/routeTables/spoke-{}-rt"

    def failover(epoch: int, tables: int, pad: int) -> None:
        changes = [{"resource": rid.format(i), "action": "updateRoutes", "before": {"x": "a" * pad}, "after": {"x": "b" * pad}}
                   for i in range(tables)]
        writes = tuple(WriteTiming(rid.format(i), "updateRoutes", t0 + timedelta(seconds=1), t0 + timedelta(seconds=3))
                       for i in range(tables))
        record = FailoverRecord(epoch, "fw-a", "fw-b", "auto", "x", t0, t0 + timedelta(seconds=5), 5000)
        store.append_history("hub", record, changes, Timeline(t0 - timedelta(seconds=10), writes))

    failover(1, 400, 100)  # ~100 K characters of changes: three properties
    failover(2, 2000, 300)  # ~1.4 M characters: more than a row holds, so before/after are dropped
    big, spilled = store.history("hub", limit=2)
    assert len(spilled["changes"]) == 400 and spilled["changes"][399]["before"] == {"x": "a" * 100}
    assert len(spilled["writes"]) == 400 and "omitted" not in spilled
    assert spilled["detectedAt"] == "2025-12-31T23:59:50Z"
    assert len(big["changes"]) + big["omitted"]["changes"] == 2000
    assert big["changes"][0] == {"resource": rid.format(0), "action": "updateRoutes"}
    assert len(big["writes"]) + big["omitted"]["writes"] == 2000 and big["writes"][0]["durationMs"] == 2000
