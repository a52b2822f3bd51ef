"""The installed `nva-failover` command against the app's real HTTP functions, Azurite and the emulator."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from emulation.functions_host import Host, routes
from emulation.harness import free_port
from tests.cli.conftest import KEY, Cli, base_env, command, run, tick
from tests.functions.registered import functions
from tests.integration.rig import EventLog, Rig

App = tuple[Rig, Host]


def test_status_of_every_cluster_and_of_one(app: App, cli: Cli) -> None:
    table = cli("status")
    assert table.code == 0, table.err
    header, row = table.out.splitlines()[:2]
    assert header.split()[:3] == ["CLUSTER", "ACTIVE", "PHASE"]
    assert row.split()[:3] == ["hub-fw", "fw-a", "steady"] and "fw-a:ok fw-b:ok" in row

    listed = cli("status", "--json")
    assert listed.code == 0 and [c["name"] for c in listed.json()["clusters"]] == ["hub-fw"]
    one = cli("status", "hub-fw", "--json").json()
    assert one == listed.json()["clusters"][0]
    assert {n["name"]: n["healthy"] for n in one["nvas"]} == {"fw-a": True, "fw-b": True}

    detail = cli("status", "hub-fw")
    assert detail.code == 0
    rows = {line.split()[0]: line.split()[1:3] for line in detail.out.splitlines() if line.startswith("fw-")}
    assert rows == {"fw-a": ["active", "healthy"], "fw-b": ["standby", "healthy"]}
    assert "last       never" in detail.out


def test_failover_dry_run_changes_nothing_then_failover_moves_everything(app: App, cli: Cli, events: EventLog) -> None:
    world, _ = app
    world.arm.control.clear_requests()
    plan = cli("failover", "hub-fw", "--dry-run", "--json")
    assert plan.code == 0, plan.err
    answer = plan.json()
    assert (answer["dryRun"], answer["from"], answer["to"]) == (True, "fw-a", "fw-b")
    nics = world.hub.nics
    assert {c["resource"].lower() for c in answer["changes"]} == {
        nics["fw-a"]["untrust"].lower(), nics["fw-b"]["untrust"].lower(), *(t.lower() for t in world.hub.all_tables)}
    assert world.writes() == [] and world.pip_holders() == ["fw-a-untrust"]

    done = cli("failover", "hub-fw", "--target", "fw-b", "--reason", "patching fw-a")
    assert done.code == 0, done.err
    assert done.out.splitlines()[0].startswith("hub-fw: fw-a -> fw-b, epoch 1 (done in ")
    assert "networkInterfaces/fw-a-untrust" in done.out and "detachPublicIp" in done.out
    assert world.pip_holders() == ["fw-b-untrust"]
    managed = {t.rsplit("/", 1)[-1] for t in world.hub.all_tables}
    hops = {hop for name, table in world.hops().items() if name in managed for hop in table.values()}
    assert "10.0.2.5" in hops and "10.0.2.4" not in hops  # every owned route now points at fw-b's trust leg
    [completed] = events.named("FailoverCompleted")
    assert (completed["trigger"], completed["to"]) == ("manual", "fw-b")
    status = cli("status", "hub-fw", "--json").json()
    assert (status["active"], status["lastFailover"]["reason"]) == ("fw-b", "patching fw-a")


def test_a_refused_failover_exits_4_and_changes_nothing(app: App, cli: Cli) -> None:
    world, _ = app
    world.nvas["fw-b"].set_mode("down")
    tick(2)
    world.arm.control.clear_requests()
    refused = cli("failover", "hub-fw", "--target", "fw-b")
    assert refused.code == 4
    assert "409 TargetUnhealthy" in refused.err
    as_json = cli("failover", "hub-fw", "--target", "fw-b", "--json")
    assert as_json.code == 4 and as_json.json()["error"]["code"] == "TargetUnhealthy"
    assert world.writes() == [] and world.pip_holders() == ["fw-a-untrust"]
    unknown = cli("failover", "hub-fw", "--target", "fw-z")
    assert unknown.code == 1 and "404 NvaNotFound" in unknown.err


def test_history_lists_failovers_newest_first(app: App, cli: Cli) -> None:
    assert cli("failover", "hub-fw", "--target", "fw-b", "--reason", "one").code == 0
    assert cli("failover", "hub-fw", "--target", "fw-a", "--reason", "two").code == 0
    answer = cli("history", "hub-fw", "--json")
    assert answer.code == 0, answer.err
    records = answer.json()["failovers"]
    assert [(r["epoch"], r["from"], r["to"], r["reason"]) for r in records] == [(2, "fw-b", "fw-a", "two"), (1, "fw-a", "fw-b", "one")]
    assert all(r["changes"] for r in records)
    assert [r["epoch"] for r in cli("history", "hub-fw", "--limit", "1", "--json").json()["failovers"]] == [2]
    table = cli("history", "hub-fw")
    assert table.code == 0
    lines = table.out.splitlines()
    assert lines[0].split()[:5] == ["EPOCH", "STARTED", "FROM", "TO", "TRIGGER"]
    assert [line.split()[0] for line in lines[1:3]] == ["2", "1"] and lines[3] == ""
    assert lines[1].split()[3:6] == ["fw-b", "fw-a", "manual"]
    assert lines[4] == "timeline of epoch 2:"
    steps = [line.split()[2] for line in lines[6:]]
    assert steps[0] == "started" and steps[-1] == "completed"
    assert sorted(steps[1:-1]) == sorted(w["action"] for w in records[0]["writes"]) and len(steps) == 2 + len(records[0]["writes"])
    assert cli("history", "hub-fw", "--limit", "0").code == 2  # refused before any request: 1-200


def test_pause_and_resume(app: App, cli: Cli, events: EventLog) -> None:
    world, _ = app
    paused = cli("pause", "hub-fw", "--reason", "maintenance window")
    assert paused.code == 0, paused.err
    assert "paused     YES (maintenance window): no automatic change" in paused.out
    assert [e["reason"] for e in events.named("ClusterPaused")] == ["maintenance window"]
    world.nvas["fw-a"].set_mode("down")
    tick(3)
    assert world.pip_holders() == ["fw-a-untrust"]  # paused: nothing moved
    resumed = cli("resume", "hub-fw", "--json")
    assert resumed.code == 0 and resumed.json()["paused"] is False
    assert len(events.named("ClusterResumed")) == 1


@pytest.mark.skipif(not any(r.pattern.fullmatch("/api/clusters/hub-fw/check") for r in routes(functions())),
                    reason="the app does not serve clusters/{cluster}/check yet (readiness, issue 11)")
def test_check_prints_readiness(app: App, cli: Cli) -> None:
    ready = cli("check", "hub-fw", "--json")
    assert ready.code == 0, ready.err
    answer = ready.json()
    assert answer["cluster"] == "hub-fw" and answer["ready"] is True
    assert {c["name"] for c in answer["checks"]} >= {"state", "resources", "placement", "standby", "permissions"}
    table = cli("check", "hub-fw")
    assert table.code == 0 and table.out.startswith("hub-fw: READY")
    app[0].nvas["fw-b"].set_mode("down")
    tick(2)
    not_ready = cli("check", "hub-fw")
    assert not_ready.code == 4 and "NOT READY" in not_ready.out
    assert [line.split()[:2] for line in not_ready.out.splitlines() if line.startswith("standby")] == [["standby", "FAIL"]]


def test_watch_prints_status_then_the_events_it_sees(app: App, cli: Cli, tmp_path: Path) -> None:
    world, host = app
    env = base_env(NVA_FAILOVER_URL=host.url, NVA_FAILOVER_KEY=KEY)
    proc = subprocess.Popen([str(command()), "watch", "--json", "--interval", "0.2", "--count", "3000"], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        first = json.loads(proc.stdout.readline())
        assert [c["name"] for c in first["clusters"]] == ["hub-fw"]
        assert cli("pause", "hub-fw").code == 0
        world.nvas["fw-b"].set_mode("down")
        tick(2)
        seen: list[dict[str, object]] = []
        while not {"ClusterPaused", "NvaHealthChanged"} <= {e.get("event") for e in seen}:
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else "watch ended"
            item = json.loads(line)
            if "event" in item:
                seen.append(item)
    finally:
        proc.terminate()
        proc.wait(10)
    health = next(e for e in seen if e["event"] == "NvaHealthChanged")
    assert (health["cluster"], health["nva"], health["healthy"]) == ("hub-fw", "fw-b", False)

    once = cli("watch", "--count", "1")  # not a terminal: the status table once, then events as lines
    assert once.code == 0 and once.out.splitlines()[0].split()[:2] == ["CLUSTER", "ACTIVE"]
    assert "PAUSED" in once.out.splitlines()[1]


def test_a_wrong_key_exits_5_and_changes_nothing(app: App, cli: Cli) -> None:
    world, host = app
    world.arm.control.clear_requests()
    for args in (["status"], ["failover", "hub-fw", "--target", "fw-b"], ["pause", "hub-fw"]):
        refused = cli(*args, NVA_FAILOVER_KEY="not-the-key")
        assert refused.code == 5, (args, refused.err)
        assert "refused the function key" in refused.err
    assert [c[2] for c in host.calls] == [401, 401, 401]
    assert world.writes() == [] and world.pip_holders() == ["fw-a-untrust"]
    assert cli("status", "hub-fw", "--json").json()["paused"] is False
    flagged = cli("status", "--key", "also-wrong", "--json")
    assert flagged.code == 5 and flagged.json()["error"]["status"] == 401


def test_errors_of_the_api_and_usage(app: App, cli: Cli) -> None:
    missing = cli("status", "nope")
    assert missing.code == 1 and "404 ClusterNotFound: no cluster named 'nope'" in missing.err
    assert cli("status", "nope", "--json").json() == {"error": {"status": 404, "code": "ClusterNotFound",
                                                                "message": "no cluster named 'nope'"}}
    no_key = cli("status", NVA_FAILOVER_KEY="")
    assert no_key.code == 2 and "no function key" in no_key.err
    assert cli("failover").code == 2  # argparse: the cluster is required


def test_an_unreachable_app_exits_3(offline: Cli) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    for args in (["status"], ["check", "hub-fw"], ["failover", "hub-fw", "--dry-run"]):
        down = offline(*args, "--url", url, "--key", KEY)
        assert down.code == 3, down.err
        assert "cannot connect" in down.err and url in down.err
    answer = offline("status", "--json", "--url", url, "--key", KEY)
    assert answer.code == 3 and answer.json()["error"]["code"] == "Unreachable"
    no_url = offline("status", "--key", KEY)
    assert no_url.code == 2 and "no app URL" in no_url.err


def test_every_command_documents_its_exit_codes(offline: Cli) -> None:
    helped = offline("--help")
    assert helped.code == 0
    for code in range(6):
        assert f"\n  {code}  " in helped.out
    assert run(["status", "--help"], base_env(), Path.cwd()).code == 0
