"""Crash at every step: kill -9 the actor at each step point of a failover, start a fresh one, check convergence."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .lab import ROOT, Lab, Watcher

# Each point: how to stop the actor there. Requests are hung at the emulator (the actor waits on an answer, as it would
# on a slow Azure) or, for the last point, at the state table once the verifying reads are done.
POINTS: dict[str, dict[str, Any]] = {
    "after winning the lock": {"operation": "NetworkInterfaces_Get"},
    "after the detach": {"operation": "NetworkInterfaces_CreateOrUpdate", "resource": "fw-b-untrust"},
    "after 0 route table writes": {"operation": "RouteTables_CreateOrUpdate", "skip": 0},
    "after 1 route table write": {"operation": "RouteTables_CreateOrUpdate", "skip": 1},
    "after 2 route table writes": {"operation": "RouteTables_CreateOrUpdate", "skip": 2},
    "after 3 route table writes": {"operation": "RouteTables_CreateOrUpdate", "skip": 3},
    "after every write (verify read)": {"operation": "NetworkInterfaces_Get", "skip": 4},
    "before recording completion": {"state": True},
}


@dataclass
class CrashFigures:
    points: int = 0
    runs: int = 0
    converged_within_two_runs: int = 0
    longest_public_ip_detached_seconds: float = 0.0
    detail: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def _wait(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def crash_once(lab: Lab, point: str) -> dict[str, Any]:
    lab.fresh(lease=2.0)
    assert lab.arm is not None and lab.hub is not None
    arm = lab.arm
    settle = lab.engine("settler")
    settle.probe_cycle()
    settle.probe_cycle()
    spec = POINTS[point]
    if not spec.get("state"):
        arm.control.fault("hang", times=1, **spec)
    work = Path(tempfile.mkdtemp(prefix="crash-"))
    env = {**os.environ, **lab.env, "PYTHONPATH": str(ROOT)}
    with Watcher(arm, lab.hub.public_ip) as watcher:
        lab.nvas["fw-a"].set_mode("down")
        actor = subprocess.Popen([sys.executable, "-m", "chaos.actor", "victim", str(work / "h.jsonl"), str(work / "stop"), "0"],
                                 env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if spec.get("state"):
            verified = lambda: sum(r["operation"] == "RouteTables_ListAll" for r in arm.control.requests()) >= 4  # noqa: E731
            reached = _wait(verified, 60)
            lab.proxy.set_mode("blackhole")
        else:
            reached = _wait(lambda: arm.control.hung() > 0, 60)
        actor.send_signal(signal.SIGKILL)
        actor.wait(10)
        lab.proxy.set_mode("pass")
        arm.control.clear_faults()
        arm.control.release()  # a request the dead actor sent still reaches Azure, as it would
        time.sleep(2.2)  # its lease lapses
        fresh = lab.engine("successor")
        runs, converged = 0, False
        while runs < 4 and not converged:
            fresh.probe_cycle()
            runs += 1
            converged = lab.converged(fresh, "fw-b")
    return {"reached": reached, "runs": runs, "convergedWithinTwoRuns": converged and runs <= 2,
            "longestPublicIpDetachedSeconds": round(watcher.longest_detached, 2), "maxNicsHoldingPublicIp": watcher.max_holders}


def run_crashes(lab: Lab, runs: int = 3, points: list[str] | None = None) -> CrashFigures:
    figures = CrashFigures()
    for point in points or list(POINTS):
        figures.points += 1
        figures.detail[point] = []
        for _ in range(runs):
            result = crash_once(lab, point)
            figures.detail[point].append(result)
            figures.runs += 1
            figures.converged_within_two_runs += result["convergedWithinTwoRuns"]
            figures.longest_public_ip_detached_seconds = max(figures.longest_public_ip_detached_seconds,
                                                             result["longestPublicIpDetachedSeconds"])
    return figures
