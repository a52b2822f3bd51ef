"""ProbeCycle events stay bounded: a cluster's own on change (and every refresh period), one heartbeat per run."""

from __future__ import annotations

import json
import logging

import pytest

from shared.control.heartbeat import NAMED, Heartbeat, Run, beat
from shared.events import EVENT_ATTRIBUTE


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def steady(name: str, outcome: str = "steady") -> Run:
    return Run(name, "fw-a", ("fw-a", "fw-b"), outcome, 12)


def cycles(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    return [dict(vars(r)) for r in caplog.records if getattr(r, EVENT_ATTRIBUTE, None) == "ProbeCycle"]


def test_a_cluster_is_told_on_its_first_run_on_change_and_every_refresh(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "nva_failover.events")
    clock = Clock()
    heart = Heartbeat(refresh_seconds=600, monotonic=clock)
    assert heart.tell(steady("hub-fw")) is True  # first sight in this process
    told = [heart.tell(steady("hub-fw", o)) for o in ("steady", "reconcile due", "reconcile queued", "steady")]
    assert told == [False] * 4, "a run at rest, reconciles included, is not a change"
    assert heart.tell(Run("hub-fw", "fw-a", ("fw-a",), "steady", 9)) is True  # fw-b stopped answering
    assert heart.tell(Run("hub-fw", "fw-a", ("fw-a",), "steady", 9)) is False
    assert heart.tell(Run("hub-fw", "fw-b", ("fw-b",), "fw-a failed: refused", 9)) is True
    assert heart.tell(Run("hub-fw", "fw-b", ("fw-b",), "failed: state table answered 503", 9)) is True
    assert heart.tell(Run("hub-fw", "fw-b", ("fw-b",), "failed: state table unreachable", 9)) is False, "same kind"
    clock.now = 599.0
    assert heart.tell(Run("hub-fw", "fw-b", ("fw-b",), "failed: again", 9)) is False
    clock.now = 600.0
    assert heart.tell(Run("hub-fw", "fw-b", ("fw-b",), "failed: again", 9)) is True  # the refresh
    emitted = cycles(caplog)
    assert len(emitted) == 5
    assert emitted[0]["cluster"] == "hub-fw" and json.loads(str(emitted[0]["healthy"])) == ["fw-a", "fw-b"]
    assert {k for k in emitted[0] if k in {"active", "healthy", "durationMs", "outcome"}} == {
        "active", "healthy", "durationMs", "outcome"}


def test_clusters_are_told_apart() -> None:
    heart = Heartbeat()
    assert [heart.tell(steady(f"c{i}")) for i in range(3)] == [True] * 3
    assert [heart.tell(steady(f"c{i}")) for i in range(3)] == [False] * 3


def test_one_heartbeat_sums_up_any_number_of_clusters_in_bounded_size(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "nva_failover.events")
    runs = [steady(f"c{i:03}") for i in range(500)]
    runs[7] = Run("c007", "fw-b", ("fw-b",), "fw-a failed: refused", 40)
    runs += [Run(f"down{i}", "fw-a", (), "failed: boom", 3) for i in range(30)]
    beat(runs, 830, 31, True)
    (heartbeat,) = cycles(caplog)
    assert heartbeat["cluster"] == "*"
    assert (heartbeat["clusters"], heartbeat["serving"], heartbeat["healthyNvas"]) == (530, 500, 999)
    assert (heartbeat["active"], heartbeat["healthy"]) == ("", "[]"), "a cluster's fields keep their types, name no NVA"
    assert json.loads(str(heartbeat["outcomes"])) == {"steady": 499, "fw-a failed": 1, "failed": 30}
    attention = json.loads(str(heartbeat["attention"]))
    assert len(attention) == NAMED and attention[0] == "c007" and heartbeat["attentionCount"] == 31
    assert (heartbeat["slowest"], heartbeat["slowestMs"], heartbeat["durationMs"]) == ("c007", 40, 830)
    assert (heartbeat["told"], heartbeat["stateQuery"]) == (31, True)
