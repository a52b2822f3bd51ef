"""Crash at every step: kill -9 the actor at each step of a failover; the first run the schedule fires afterwards must finish it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.domain.schedule import Schedule
from shared.edge.settings import DEFAULT_SCHEDULE

from .lab import ROOT, Lab, Watcher, executor_pump
from .race import RaceFigures, check
from .recording import RecordingStore

# Each point: how to stop the actor there. Requests are hung at the emulator (the actor waits on an answer, as it would
# on a slow Azure) or, for the last point, at the state table once the verifying reads are done. `before` are faults set
# up first (the attach lands but its answer is lost; the re-read that follows is the one that hangs).
POINTS: dict[str, dict[str, Any]] = {
    "after winning the lock": {"operation": "NetworkInterfaces_Get"},
    "after the detach": {"operation": "NetworkInterfaces_CreateOrUpdate", "resource": "fw-b-untrust"},
    "after the attach was sent, its answer lost": {
        "before": [{"action": "lose-response", "operation": "NetworkInterfaces_CreateOrUpdate", "resource": "fw-b-untrust",
                    "times": 1}],
        "operation": "NetworkInterfaces_Get", "resource": "fw-b-untrust", "skip": 1},
    "after 0 route table writes": {"operation": "RouteTables_CreateOrUpdate", "skip": 0},
    "after 1 route table write": {"operation": "RouteTables_CreateOrUpdate", "skip": 1},
    "after 2 route table writes": {"operation": "RouteTables_CreateOrUpdate", "skip": 2},
    "after every write (verify read)": {"operation": "NetworkInterfaces_Get", "skip": 4},
    "before recording completion": {"state": True},
}
SCHEDULE = Schedule(DEFAULT_SCHEDULE)  # the shipped schedule, every 5 s: the runs after a crash come on it


@dataclass
class CrashFigures:
    points: int = 0
    runs: int = 0
    completed_by_first_scheduled_run: int = 0
    longest_public_ip_detached_seconds: float = 0.0
    longest_public_ip_detached_after_crash_seconds: float = 0.0
    longest_crash_to_converged_seconds: float = 0.0
    writes_toward_unhealthy: int = 0  # Azure writes under a decision toward an NVA whose last probe failed (race.check)
    detail: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def _wait(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def crash_once(lab: Lab, point: str) -> dict[str, Any]:
    lab.fresh()
    assert lab.arm is not None and lab.hub is not None
    arm = lab.arm
    work = Path(tempfile.mkdtemp(prefix="crash-"))
    settle = lab.engine("settler")
    settle.store = RecordingStore(settle.store, work / "h.jsonl", "settler")  # every actor's state writes, for the checker
    settle.probe_cycle()
    settle.probe_cycle()
    spec = dict(POINTS[point])
    for fault in spec.pop("before", []):
        arm.control.fault(**fault)
    if not spec.get("state"):
        arm.control.fault("hang", times=1, **spec)
    env = {**os.environ, **lab.env, "PYTHONPATH": str(ROOT)}
    successor = lab.engine("successor", queue=True)  # an instance of the app: its timer queues, its executor runs
    successor.store = RecordingStore(successor.store, work / "h.jsonl", "successor")
    host = executor_pump(successor, lab.env)
    arm.control.clear_requests()
    with Watcher(arm, lab.hub.public_ip) as watcher:
        lab.nvas["fw-a"].set_mode("down")
        actor = subprocess.Popen([sys.executable, "-m", "chaos.actor", "victim", str(work / "h.jsonl"), str(work / "stop"), "0", "patient"],
                                 env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if spec.get("state"):
            # The failover's read lists the discovered subscription once, its verification a second time.
            verified = lambda: sum(r["operation"] == "RouteTables_ListAll" for r in arm.control.requests()) >= 2  # noqa: E731
            reached = _wait(verified, 60)
            lab.proxy.set_mode("blackhole")
        else:
            reached = _wait(lambda: arm.control.hung() > 0, 60)
        # The hardest moment to die: just before the schedule fires. The lease was renewed a moment ago, so the run
        # that fires finds it live and must tell a dead actor from a slow one within that run.
        firing = SCHEDULE.next_after(datetime.now(UTC))
        time.sleep(max(0.0, (firing - datetime.now(UTC)).total_seconds() - 0.3))
        actor.send_signal(signal.SIGKILL)
        actor.wait(10)
        killed = time.monotonic()
        lab.proxy.set_mode("pass")
        arm.control.clear_faults()
        arm.control.release()  # a request the dead actor sent still reaches Azure, as it would
        # The runs after the crash come on the schedule, as the host fires them; no waiting for a lease by hand.
        # The host fires a timer late rather than never (isPastDue), so the first run is the firing the kill preceded.
        runs, converged, first_run_after = 0, False, 0.0
        while runs < 3 and not converged:
            time.sleep(max(0.0, (firing - datetime.now(UTC)).total_seconds()))
            first_run_after = first_run_after or time.monotonic() - killed
            successor.probe_cycle()
            host.drain()
            runs += 1
            converged = lab.converged(successor, "fw-b")
            firing = SCHEDULE.next_after(max(firing, datetime.now(UTC)))
        done = time.monotonic() - killed
    records = [json.loads(line) for line in (work / "h.jsonl").read_text().splitlines() if line.strip()]
    writes = [r for r in arm.control.requests() if r["method"] == "PUT" and r["status"] in (200, 201)]
    checked = check(records, writes, RaceFigures())
    return {"decisionsTowardUnhealthy": checked.decisions_toward_unhealthy, "writesTowardUnhealthy": checked.writes_toward_unhealthy,
            "reached": reached, "runs": runs, "completedByFirstScheduledRun": converged and runs == 1,
            "firstScheduledRunAfterCrashSeconds": round(first_run_after, 2), "crashToConvergedSeconds": round(done, 2),
            "longestPublicIpDetachedSeconds": round(watcher.longest_detached, 2),
            "publicIpDetachedAfterCrashSeconds": round(watcher.detached_after(killed), 2), "maxNicsHoldingPublicIp": watcher.max_holders}


def run_crashes(lab: Lab, runs: int = 3, points: list[str] | None = None) -> CrashFigures:
    figures = CrashFigures()
    for point in points or list(POINTS):
        figures.points += 1
        figures.detail[point] = []
        for _ in range(runs):
            result = crash_once(lab, point)
            figures.detail[point].append(result)
            figures.runs += 1
            figures.completed_by_first_scheduled_run += result["completedByFirstScheduledRun"]
            figures.writes_toward_unhealthy += result["writesTowardUnhealthy"] + result["decisionsTowardUnhealthy"]
            figures.longest_public_ip_detached_seconds = max(figures.longest_public_ip_detached_seconds,
                                                             result["longestPublicIpDetachedSeconds"])
            figures.longest_public_ip_detached_after_crash_seconds = max(
                figures.longest_public_ip_detached_after_crash_seconds, result["publicIpDetachedAfterCrashSeconds"])
            figures.longest_crash_to_converged_seconds = max(figures.longest_crash_to_converged_seconds,
                                                             result["crashToConvergedSeconds"])
    return figures
