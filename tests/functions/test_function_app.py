"""The registered functions, called with real azure.functions request objects, against Azurite and the emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.functions as func
import pytest
from azure.functions.timer import TimerRequest

import function_app
from emulation.harness import free_port
from emulation.queuepump import QueuePump
from shared.domain.state import Journal
from shared.edge.engine import Engine
from tests.functions.host import pump
from tests.functions.registered import functions
from tests.integration.rig import EventLog, Rig


def function(name: str) -> Any:
    return functions()[name].get_user_function()


def call(name: str, method: str, route: str, cluster: str | None = None, body: bytes | str = b"") -> tuple[int, dict[str, Any]]:
    raw = body.encode() if isinstance(body, str) else body
    req = func.HttpRequest(method, f"https://nva-failover.example/api/{route}",
                           route_params={"cluster": cluster} if cluster else {}, body=raw)
    resp = function(name)(req)
    assert resp.mimetype == "application/json"
    answer = json.loads(resp.get_body())
    if resp.status_code != 200:
        assert set(answer) == {"error"} and set(answer["error"]) == {"code", "message"}
    return resp.status_code, answer


_host: list[QueuePump] = []


def tick(times: int = 1) -> None:
    """Timer runs, each followed by the queued changes it made, run by the host's queue listener."""
    for _ in range(times):
        function("probe")(TimerRequest())
        for listener in _host:
            listener.drain()


@pytest.fixture
def app_env(world: Rig, monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    world.configure_app(monkeypatch)
    with pump(world.env()) as listener:  # the host's queue listener runs the executor beside the timer and the API
        _host.append(listener)
        try:
            yield world
        finally:
            _host.remove(listener)


def engine() -> Engine:
    return function_app.runtime.engine()


def test_full_automatic_failover_through_the_timer(app_env: Rig, events: EventLog) -> None:
    tick(2)
    assert call("get_cluster", "GET", "clusters/hub-fw", "hub-fw")[1]["active"] == "fw-a"
    app_env.nvas["fw-a"].set_mode("down")
    tick(2)
    status, body = call("get_cluster", "GET", "clusters/hub-fw", "hub-fw")
    assert status == 200
    assert (body["active"], body["epoch"], body["phase"]) == ("fw-b", 1, "steady")
    assert body["lastFailover"]["trigger"] == "auto"
    assert {n["name"]: n["healthy"] for n in body["nvas"]} == {"fw-a": False, "fw-b": True}
    assert app_env.pip_holders() == ["fw-b-untrust"]
    assert len(events.named("FailoverCompleted")) == 1


def test_list_and_get(app_env: Rig) -> None:
    status, body = call("list_clusters", "GET", "clusters")
    assert status == 200 and [c["name"] for c in body["clusters"]] == ["hub-fw"]
    cluster = body["clusters"][0]
    assert set(cluster) == {"name", "active", "epoch", "phase", "paused", "pausedReason", "nvas", "lastFailover", "readiness"}
    assert cluster["pausedReason"] is None  # rev. 3: the reason given to pause, null when not paused
    assert set(cluster["nvas"][0]) == {"name", "healthy", "consecutiveFailures", "consecutiveSuccesses", "lastProbeAt", "lastError",
                                       "role"}  # rev. 3: null without a role probe
    assert cluster["nvas"][0]["role"] is None
    assert call("get_cluster", "GET", "clusters/nope", "nope") == (404, {"error": {
        "code": "ClusterNotFound", "message": "no cluster named 'nope'"}})


def test_check_answers_readiness_and_writes_nothing_to_azure(app_env: Rig) -> None:
    tick(2)
    app_env.arm.control.clear_requests()
    status, body = call("check", "GET", "clusters/hub-fw/check", "hub-fw")
    assert status == 200 and body["cluster"] == "hub-fw" and body["ready"] is True, body
    assert [c["name"] for c in body["checks"]] == ["state", "resources", "placement", "standby", "permissions"]
    assert app_env.writes() == []
    summary = call("get_cluster", "GET", "clusters/hub-fw", "hub-fw")[1]["readiness"]
    assert summary == {"ready": True, "checkedAt": body["checkedAt"], "failing": []}
    assert call("check", "GET", "clusters/nope/check", "nope")[0] == 404


def test_manual_failover_and_dry_run(app_env: Rig) -> None:
    tick(2)
    app_env.arm.control.clear_requests()
    status, plan = call("failover", "POST", "clusters/hub-fw/failover", "hub-fw", '{"dryRun": true, "reason": "patching fw-a"}')
    assert status == 200 and plan["dryRun"] is True and plan["to"] == "fw-b" and plan["from"] == "fw-a"
    # Two NICs and the three managed tables; the pinned tables in the same resource group are not the cluster's.
    assert len(plan["changes"]) == 5
    assert not {c["resource"].lower() for c in plan["changes"]} & {t.lower() for t in app_env.hub.pinned_tables}
    assert app_env.writes() == []
    assert call("get_cluster", "GET", "clusters/hub-fw", "hub-fw")[1]["epoch"] == 0

    status, done = call("failover", "POST", "clusters/hub-fw/failover", "hub-fw", '{"target": "fw-b", "reason": "patching fw-a"}')
    assert status == 200
    assert (done["cluster"], done["epoch"], done["from"], done["to"], done["dryRun"]) == ("hub-fw", 1, "fw-a", "fw-b", False)
    assert sorted(c["resource"] for c in done["changes"]) == sorted(c["resource"] for c in plan["changes"])
    assert done["durationMs"] > 0
    assert app_env.pip_holders() == ["fw-b-untrust"]
    last = call("get_cluster", "GET", "clusters/hub-fw", "hub-fw")[1]["lastFailover"]
    assert (last["trigger"], last["reason"]) == ("manual", "patching fw-a")


def test_failover_to_the_active_repairs_drift(app_env: Rig) -> None:
    tick(2)
    nic = app_env.hub.nics["fw-a"]["untrust"]
    snapshot = app_env.snapshot()[nic.lower()]
    del snapshot["properties"]["ipConfigurations"][0]["properties"]["publicIPAddress"]
    app_env.arm.control.seed([snapshot])  # someone detached the public IP by hand
    assert app_env.pip_holders() == []
    status, body = call("failover", "POST", "clusters/hub-fw/failover", "hub-fw", '{"target": "fw-a"}')
    assert status == 200 and body["to"] == "fw-a" and body["epoch"] == 0
    assert [c["action"] for c in body["changes"]] == ["attachPublicIp"]
    assert app_env.pip_holders() == ["fw-a-untrust"]


def test_pause_and_resume(app_env: Rig, events: EventLog) -> None:
    tick(2)
    status, body = call("pause", "POST", "clusters/hub-fw/pause", "hub-fw", '{"reason": "maintenance window"}')
    assert status == 200 and body["paused"] is True and body["pausedReason"] == "maintenance window"
    app_env.nvas["fw-a"].set_mode("down")
    tick(3)
    status, body = call("get_cluster", "GET", "clusters/hub-fw", "hub-fw")
    assert body["active"] == "fw-a" and body["nvas"][0]["healthy"] is False  # probing went on, nothing moved
    assert app_env.writes() == []
    status, body = call("resume", "POST", "clusters/hub-fw/resume", "hub-fw")
    assert status == 200 and body["paused"] is False and body["pausedReason"] is None
    tick(1)
    assert call("get_cluster", "GET", "clusters/hub-fw", "hub-fw")[1]["active"] == "fw-b"
    assert events.named("ClusterPaused")[0]["reason"] == "maintenance window"
    assert len(events.named("ClusterResumed")) == 1


@pytest.mark.parametrize(("body", "fragment"), [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "must be a JSON object"),
    ('{"target": "fw-b", "colour": "red"}', "colour: unknown field"),
    ('{"force": "yes"}', "force"),
    ('{"dryRun": 1}', "dryRun"),
    ('{"target": 7}', "target"),
    (b"\xff\xfe", "UTF-8"),
])
def test_bad_requests_answer_400_and_change_nothing(app_env: Rig, body: str | bytes, fragment: str) -> None:
    tick(2)
    before = call("get_cluster", "GET", "clusters/hub-fw", "hub-fw")[1]
    status, answer = call("failover", "POST", "clusters/hub-fw/failover", "hub-fw", body)
    assert status == 400 and answer["error"]["code"] == "InvalidRequest"
    assert fragment in answer["error"]["message"]
    assert call("get_cluster", "GET", "clusters/hub-fw", "hub-fw")[1] == before
    assert app_env.writes() == []


def test_error_codes(app_env: Rig) -> None:
    tick(2)
    cases = [
        (("failover", "POST", "clusters/nope/failover", "nope", ""), 404, "ClusterNotFound"),
        (("failover", "POST", "clusters/hub-fw/failover", "hub-fw", '{"target": "fw-z"}'), 404, "NvaNotFound"),
        (("pause", "POST", "clusters/hub-fw/pause", "hub-fw", '{"why": "x"}'), 400, "InvalidRequest"),
        (("resume", "POST", "clusters/hub-fw/resume", "hub-fw", '{"reason": "x"}'), 400, "InvalidRequest"),
    ]
    for args, status, code in cases:
        got = call(*args)
        assert (got[0], got[1]["error"]["code"]) == (status, code), args
    app_env.nvas["fw-b"].set_mode("http503")
    tick(2)
    got = call("failover", "POST", "clusters/hub-fw/failover", "hub-fw", '{"target": "fw-b"}')
    assert (got[0], got[1]["error"]["code"]) == (409, "TargetUnhealthy")
    got = call("failover", "POST", "clusters/hub-fw/failover", "hub-fw", "")
    assert (got[0], got[1]["error"]["code"]) == (409, "NoHealthyTarget")
    assert app_env.writes() == []
    app_env.arm.control.clear_requests()
    status, body = call("failover", "POST", "clusters/hub-fw/failover", "hub-fw", '{"target": "fw-b", "force": true}')
    assert status == 200 and body["to"] == "fw-b"


def test_failover_in_progress(app_env: Rig) -> None:
    tick(2)
    store = engine().store
    state = store.load("hub-fw")
    assert state is not None
    now = datetime.now(UTC)
    # A live holder with a five-minute lease (recorded: a watcher waits as long, whatever the timestamps say).
    journal = Journal("failover", 1, "fw-a", "fw-b", "auto", "x", now, "another-actor", now + timedelta(minutes=5),
                      lease_seconds=300)
    store.save(replace(state, phase="failing_over", epoch=1, journal=journal))
    got = call("failover", "POST", "clusters/hub-fw/failover", "hub-fw", '{"target": "fw-b"}')
    assert (got[0], got[1]["error"]["code"]) == (409, "FailoverInProgress")
    assert call("get_cluster", "GET", "clusters/hub-fw", "hub-fw")[1]["phase"] == "failing_over"


def test_state_unavailable_answers_503(app_env: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    dead = f"http://127.0.0.1:{free_port()}/devstoreaccount1"
    monkeypatch.setenv("AzureWebJobsStorage", app_env.azurite.connection_string.replace(app_env.azurite.table_endpoint, dead))
    app_env.nvas["fw-a"].set_mode("down")
    for name, route, cluster in (("list_clusters", "clusters", None), ("failover", "clusters/hub-fw/failover", "hub-fw")):
        status, body = call(name, "GET" if cluster is None else "POST", route, cluster)
        assert (status, body["error"]["code"]) == (503, "StateUnavailable")
    tick(3)  # the timer cannot record a lock, so it writes nothing to Azure
    assert app_env.writes() == []


def test_invalid_configuration(app_env: Rig, events: EventLog, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NVA_HA_CONFIG", '{"clusters": [{"name": "Bad Name"}]}')
    tick(1)
    assert app_env.writes() == []
    raised = events.named("ConfigInvalid")
    assert raised and "clusters[0].name" in raised[0]["error"]
    status, body = call("list_clusters", "GET", "clusters")
    assert status == 503 and body["error"]["code"] == "ConfigInvalid"
    assert "clusters[0].name" in body["error"]["message"] and "Traceback" not in body["error"]["message"]
