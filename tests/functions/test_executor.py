"""The queue-triggered executor through the registered functions: no cluster waits for another, and a manual failover
that outlives the HTTP limit still completes and can be found."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import azure.functions as func
import pytest
from azure.functions.timer import TimerRequest

import function_app
from emulation.clusters import resources, two_clusters
from emulation.harness import ArmEmulator, Azurite, NvaProcess, app_settings, http_probes
from shared.domain.schedule import Schedule
from tests.functions.host import pump
from tests.functions.registered import functions
from tests.integration.rig import FAST_LATENCY, FAST_POLICY, EventLog, Rig

SCHEDULE = "*/1 * * * * *"


def function(name: str) -> Any:
    return functions()[name].get_user_function()


def status(cluster: str) -> dict[str, Any]:
    req = func.HttpRequest("GET", f"https://nva-failover.example/api/clusters/{cluster}", route_params={"cluster": cluster}, body=b"")
    resp = function("get_cluster")(req)
    assert resp.status_code == 200
    return dict(json.loads(resp.get_body()))


def holders(arm: ArmEmulator, public_ip: str) -> list[str]:
    return [b["name"] for b in arm.control.snapshot().values() if b["type"].endswith("networkInterfaces")
            for c in b["properties"]["ipConfigurations"]
            if (c["properties"].get("publicIPAddress") or {}).get("id", "").lower() == public_ip.lower()]


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


class Timer:
    """The host's timer: fires the registered probe function when the schedule does, one invocation at a time."""

    def __init__(self, expression: str) -> None:
        self.schedule = Schedule(expression)
        self.runs = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            fire = self.schedule.next_after(datetime.now(UTC))
            if self._stop.wait(max(0.0, (fire - datetime.now(UTC)).total_seconds())):
                return
            function("probe")(TimerRequest())
            self.runs += 1

    def __enter__(self) -> Timer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(60)


@pytest.fixture
def estate(azurite: Azurite, nva_factory: Callable[[], NvaProcess], arm: ArmEmulator,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Two clusters in one hub (hub-fw: fw-a, fw-b; hub-ew: ew-a, ew-b), each NVA a real process, the app's settings set."""
    nvas = {name: nva_factory() for name in ("fw-a", "fw-b", "ew-a", "ew-b")}
    north_south, east_west, config = two_clusters(http_probes(nvas, "/health"))
    for cluster in config["clusters"]:
        cluster["policy"] = dict(FAST_POLICY)
    arm.control.seed(resources(north_south, east_west))
    arm.control.settings(latency=FAST_LATENCY, retry_after=10)
    table = "t" + uuid.uuid4().hex[:20]
    env = app_settings(arm, config, azurite.connection_string, table, NVA_HA_POLL_INTERVAL_SECONDS="0.05",
                       NVA_HA_QUEUE="q" + table, NVA_HA_PROBE_SCHEDULE=SCHEDULE)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("NVA_HA_CONFIG_FILE", raising=False)
    yield {"arm": arm, "nvas": nvas, "fw": north_south, "ew": east_west, "env": env}


def test_a_held_failover_does_not_delay_another_clusters_detection_nor_failover(estate: dict[str, Any], events: EventLog) -> None:
    """hub-fw's failover is held (its attach hangs at Resource Manager) while hub-ew's active NVA fails: hub-ew is
    detected and failed over on the timer's own schedule, and completes while hub-fw's attach is still held."""
    arm: ArmEmulator = estate["arm"]
    nvas: dict[str, NvaProcess] = estate["nvas"]
    with pump(estate["env"]) as host:
        for _ in range(3):
            function("probe")(TimerRequest())
            host.drain()
        assert status("hub-fw")["active"] == "fw-a" and status("hub-ew")["active"] == "ew-a"
        arm.control.fault("hang", operation="NetworkInterfaces_CreateOrUpdate", resource="fw-b-untrust", times=1)
        try:
            with Timer(SCHEDULE) as timer:
                nvas["fw-a"].set_mode("down")
                wait_for(lambda: arm.control.hung() == 1, 30, "hub-fw's attach to be held")
                held_at = timer.runs
                nvas["ew-a"].set_mode("down")
                # Completed and announced: the event follows the completing state write (history row, then the mark cleared).
                wait_for(lambda: status("hub-ew")["phase"] == "steady" and status("hub-ew")["active"] == "ew-b"
                         and any(e["cluster"] == "hub-ew" for e in events.named("FailoverCompleted")), 25, "hub-ew to fail over")
                # hub-fw's change is still in flight: its attach has not been answered.
                assert arm.control.hung() == 1
                assert status("hub-fw")["phase"] == "failing_over"
                assert [e["cluster"] for e in events.named("FailoverCompleted")] == ["hub-ew"]
                # The timer kept its schedule meanwhile: every run probed both clusters (its heartbeat counts them).
                assert timer.runs - held_at >= 2
                beats = [e for e in events.named("ProbeCycle") if e["cluster"] == "*"]
                assert len(beats) >= timer.runs and all(e["clusters"] == 2 for e in beats)
                arm.control.clear_faults()
                arm.control.release()
                wait_for(lambda: status("hub-fw")["phase"] == "steady", 30, "hub-fw's failover to complete")
        finally:
            arm.control.clear_faults()
            arm.control.release()
        host.drain()
    assert status("hub-fw")["active"] == "fw-b" and status("hub-ew")["active"] == "ew-b"
    assert holders(arm, estate["fw"].public_ip) == ["fw-b-untrust"]
    assert holders(arm, estate["ew"].public_ip) == ["ew-b-untrust"]
    completed = events.named("FailoverCompleted")
    assert [e["cluster"] for e in completed] == ["hub-ew", "hub-fw"]
    assert [e["cluster"] for e in events.named("FailoverStarted")].count("hub-fw") == 1  # the held one was not started twice


def post_failover(cluster: str, body: str) -> func.HttpResponse:
    req = func.HttpRequest("POST", f"https://nva-failover.example/api/clusters/{cluster}/failover",
                           route_params={"cluster": cluster}, body=body.encode())
    return function("failover")(req)


def test_a_manual_failover_longer_than_the_http_limit_answers_202_and_completes(
        world: Rig, events: EventLog, monkeypatch: pytest.MonkeyPatch) -> None:
    world.configure_app(monkeypatch, NVA_HA_MANUAL_WAIT_SECONDS="1")
    with pump(world.env()) as host:
        for _ in range(2):
            function("probe")(TimerRequest())
            host.drain()
        world.arm.control.fault("hang", operation="NetworkInterfaces_CreateOrUpdate", resource="fw-b-untrust", times=1)
        try:
            resp = post_failover("hub-fw", '{"target": "fw-b", "reason": "patching fw-a"}')
            assert resp.status_code == 202, resp.get_body()
            body = json.loads(resp.get_body())
            assert body == {"cluster": "hub-fw", "epoch": 1, "from": "fw-a", "to": "fw-b", "status": "running",
                            "statusUrl": "/api/clusters/hub-fw", "historyUrl": "/api/clusters/hub-fw/history"}
            assert resp.headers["Location"] == "/api/clusters/hub-fw"
            running = status("hub-fw")  # the attach cannot complete while held: the failover is still running
            assert (running["phase"], running["epoch"]) == ("failing_over", 1)
            # A second request meanwhile is refused, as any request during a failover is.
            again = post_failover("hub-fw", '{"target": "fw-b"}')
            assert again.status_code == 409 and json.loads(again.get_body())["error"]["code"] == "FailoverInProgress"
            wait_for(lambda: world.arm.control.hung() == 1, 30, "the executor's attach to be held")
        finally:
            world.arm.control.clear_faults()
            world.arm.control.release()
        wait_for(lambda: status("hub-fw")["phase"] == "steady", 30, "the failover to complete")
        host.drain()
    done = status("hub-fw")
    assert (done["active"], done["epoch"]) == ("fw-b", 1)
    assert (done["lastFailover"]["trigger"], done["lastFailover"]["reason"]) == ("manual", "patching fw-a")
    history = function_app.runtime.engine().store.history("hub-fw")
    assert [(h["epoch"], h["to"], h["trigger"]) for h in history] == [(1, "fw-b", "manual")]
    assert len(history[0]["changes"]) == 5
    assert world.pip_holders() == ["fw-b-untrust"]
    assert len(events.named("FailoverCompleted")) == 1
