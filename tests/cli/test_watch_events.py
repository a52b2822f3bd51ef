"""`watch` names what changed between two statuses the way the app names its events (a pure function)."""

from __future__ import annotations

from typing import Any

from nva_failover_cli.watch import changes, describe


def status(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "hub-fw", "active": "fw-a", "epoch": 0, "phase": "steady", "paused": False,
        "nvas": [{"name": "fw-a", "healthy": True, "lastError": None}, {"name": "fw-b", "healthy": True, "lastError": None}],
        "lastFailover": None, "readiness": None,
    }
    return {**base, **over}


def test_nothing_changed_is_no_event() -> None:
    assert changes(status(), status()) == []


def test_a_failover_is_seen_starting_then_completing() -> None:
    running = status(phase="failing_over", epoch=1)
    assert changes(status(), running) == [{"event": "FailoverStarted", "cluster": "hub-fw", "epoch": 1, "active": "fw-a"}]
    record = {"epoch": 1, "from": "fw-a", "to": "fw-b", "trigger": "auto", "reason": "fw-a failed", "durationMs": 8700,
              "completedAt": "2026-11-28T03:00:09Z"}
    done = status(active="fw-b", epoch=1, lastFailover=record,
                  nvas=[{"name": "fw-a", "healthy": False, "lastError": "connection refused"}, {"name": "fw-b", "healthy": True}])
    seen = changes(running, done)
    assert [e["event"] for e in seen] == ["FailoverCompleted", "NvaHealthChanged"]
    assert (seen[0]["from"], seen[0]["to"], seen[0]["durationMs"]) == ("fw-a", "fw-b", 8700)
    assert (seen[1]["nva"], seen[1]["healthy"], seen[1]["error"]) == ("fw-a", False, "connection refused")
    assert "FailoverCompleted" in describe({**seen[0], "at": "2026-11-28T03:00:10Z"})


def test_pause_resume_readiness_and_an_unexplained_move() -> None:
    assert [e["event"] for e in changes(status(), status(paused=True))] == ["ClusterPaused"]
    assert [e["event"] for e in changes(status(paused=True), status())] == ["ClusterResumed"]
    ready = status(readiness={"ready": True, "failing": []})
    broken = status(readiness={"ready": False, "failing": ["permissions"]})
    assert changes(ready, broken) == [{"event": "ReadinessChanged", "cluster": "hub-fw", "ready": False, "failing": ["permissions"]}]
    assert changes(broken, broken) == []
    assert [e["event"] for e in changes(status(), status(active="fw-b"))] == ["ActiveChanged"]


def test_a_role_flip_is_seen() -> None:
    before = status(nvas=[{"name": "fw-a", "healthy": True, "role": "active"}, {"name": "fw-b", "healthy": True, "role": "standby"}])
    after = status(nvas=[{"name": "fw-a", "healthy": True, "role": "standby"}, {"name": "fw-b", "healthy": True, "role": "active"}])
    seen = changes(before, after)
    assert [(e["event"], e["nva"], e["role"], e["was"]) for e in seen] == [
        ("RoleChanged", "fw-a", "standby", "active"), ("RoleChanged", "fw-b", "active", "standby")]
