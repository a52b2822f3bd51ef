"""A stuck change on the bad day (contract §6 "Never stuck"): a repair that cannot finish, the active dies, a locked route
table, the standby dies later, pause, force. Figures: how long from each death to traffic on the healthy NVA, and the
Azure writes made while paused (0)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from shared.domain.policy import ManualRequest
from shared.edge.engine import Engine

from .lab import Lab

RUN_EVERY = 1.0  # the timer's period in this experiment (the engine's lease is the shipped schedule's)


@dataclass
class StuckFigures:
    repairs_failed_before_the_death: int = 0
    active_death_to_traffic_on_standby_seconds: float | None = None
    abandoned: list[str] = field(default_factory=list)  # each FailoverAbandoned's reason
    standby_death_to_traffic_on_healthy_seconds: float | None = None
    skipped_on_the_second_failover: list[str] = field(default_factory=list)
    runs_while_paused: int = 0
    writes_while_paused: int = 0
    forced_failover_seconds: float | None = None
    converged: bool = False
    problems: list[str] = field(default_factory=list)


def _until(lab: Lab, engine: Engine, done: Callable[[], bool], limit: float) -> float | None:
    """Timer runs every RUN_EVERY until `done`; the seconds it took, or None."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        engine.probe_cycle()
        if done():
            return round(time.monotonic() - started, 2)
        time.sleep(max(0.0, RUN_EVERY - (time.monotonic() - started) % RUN_EVERY))
    return None


def run_stuck(lab: Lab, paused_runs: int = 5) -> StuckFigures:
    figures = StuckFigures()
    lab.fresh({"unhealthyThreshold": 2, "healthyThreshold": 1, "probeTimeoutSeconds": 0.5, "reconcileEverySeconds": 1})
    assert lab.arm is not None and lab.hub is not None
    arm, hub = lab.arm, lab.hub
    engine = lab.engine("timer")
    for _ in range(3):
        engine.probe_cycle()
    # 1. A repair toward fw-a that cannot finish: someone took the public IP off fw-a's NIC and locked that NIC.
    nic_a = hub.nics["fw-a"]["untrust"]
    body = arm.control.snapshot()[nic_a.lower()]
    body["properties"]["ipConfigurations"][0]["properties"].pop("publicIPAddress", None)
    arm.control.seed([body])
    arm.control.locks([nic_a])
    time.sleep(1.1)
    for _ in range(3):
        engine.probe_cycle()
        time.sleep(RUN_EVERY)
    figures.repairs_failed_before_the_death = len(lab.events.named("FailoverFailed"))
    # 2. The active dies: the repair gives way and traffic goes to the healthy fw-b.
    lab.nvas["fw-a"].set_mode("down")
    figures.active_death_to_traffic_on_standby_seconds = _until(lab, engine, lambda: lab.traffic_on("fw-b"), 30)
    # 3. fw-a is back (its NIC unlocked); a managed route table is locked now; then the standby dies.
    arm.control.locks([hub.listed_tables[0]])
    lab.nvas["fw-a"].set_mode("up")
    for _ in range(3):
        engine.probe_cycle()
        time.sleep(RUN_EVERY)
    lab.nvas["fw-b"].set_mode("down")
    figures.standby_death_to_traffic_on_healthy_seconds = _until(
        lab, engine, lambda: lab.traffic_on("fw-a", except_tables=(hub.listed_tables[0],)), 30)
    completed = lab.events.named("FailoverCompleted")
    figures.skipped_on_the_second_failover = [str(completed[-1].get("skipped"))] if completed else []
    # 4. Paused, with fw-a dying and fw-b back: no run writes anything.
    arm.control.locks([])
    lab.nvas["fw-b"].set_mode("up")
    engine.probe_cycle()
    engine.set_paused("hub-fw", True, "chaos: change freeze")
    lab.nvas["fw-a"].set_mode("down")
    arm.control.clear_requests()
    for _ in range(paused_runs):
        engine.probe_cycle()
        figures.runs_while_paused += 1
        time.sleep(RUN_EVERY)
    figures.writes_while_paused = sum(r["method"] in {"PUT", "POST", "DELETE", "PATCH"} for r in arm.control.requests())
    # 5. Force, still paused: the operator moves traffic to fw-b.
    started = time.monotonic()
    try:
        engine.failover("hub-fw", ManualRequest(target="fw-b", reason="chaos: forced while paused", force=True))
        figures.forced_failover_seconds = round(time.monotonic() - started, 2)
    except Exception as err:  # the experiment reports what happened; the test asserts on it
        figures.problems.append(f"forced failover: {err}")
    figures.abandoned = [str(e.get("reason")) for e in lab.events.named("FailoverAbandoned")]
    figures.converged = lab.converged(engine, "fw-b")
    return figures

