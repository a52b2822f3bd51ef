"""Injected faults: each fault in turn during a failover; the failover must converge and nothing may escape unhandled."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shared.errors import EngineError

from .lab import Lab, Watcher

ENGINE_ERRORS = {c.__name__ for c in [EngineError, *EngineError.__subclasses__()]} | {
    c.__name__ for sub in EngineError.__subclasses__() for c in sub.__subclasses__()}


def _arm(fault: dict[str, Any]) -> Callable[[Lab], None]:
    def inject(lab: Lab) -> None:
        assert lab.arm is not None
        lab.arm.control.fault(**fault)
    return inject


def _release_later(seconds: float) -> Callable[[Lab], None]:
    def inject(lab: Lab) -> None:
        assert lab.arm is not None
        arm = lab.arm
        lab.arm.control.fault("hang", operation="NetworkInterfaces_CreateOrUpdate", resource="fw-b-untrust", times=1)
        threading.Timer(seconds, arm.control.release).start()
    return inject


def _proxy(mode: str, seconds: float) -> Callable[[Lab], None]:
    def inject(lab: Lab) -> None:
        lab.proxy.set_mode(mode)
        threading.Timer(seconds, lambda: lab.proxy.set_mode("pass")).start()
    return inject


def _nva(name: str, mode: str) -> Callable[[Lab], None]:
    def inject(lab: Lab) -> None:
        lab.nvas[name].set_mode(mode)
    return inject


SCENARIOS: dict[str, Callable[[Lab], None]] = {
    "429 storm on NIC writes": _arm({"action": "throttle", "operation": "NetworkInterfaces_CreateOrUpdate", "times": 6,
                                      "retry_after": 0.2}),
    "429 storm on reads": _arm({"action": "throttle", "operation": "NetworkInterfaces_Get", "times": 8, "retry_after": 0.2}),
    "503 on route table writes": _arm({"action": "status", "operation": "RouteTables_CreateOrUpdate", "status": 503,
                                       "code": "ServiceUnavailable", "times": 3}),
    "500 on the public IP read": _arm({"action": "status", "operation": "PublicIPAddresses_Get", "status": 500, "times": 2}),
    "attach operation ends Failed": _arm({"action": "fail", "operation": "NetworkInterfaces_CreateOrUpdate",
                                          "resource": "fw-b-untrust", "times": 1}),
    "route table operation ends Failed": _arm({"action": "fail", "operation": "RouteTables_CreateOrUpdate", "times": 2}),
    "lost response to the applied detach": _arm({"action": "lose-response", "operation": "NetworkInterfaces_CreateOrUpdate",
                                                 "resource": "fw-a-untrust", "times": 1}),
    "dropped connection on route table writes": _arm({"action": "drop", "operation": "RouteTables_CreateOrUpdate", "times": 2}),
    "hung attach, released after 5 s": _release_later(5.0),
    "stalled attach operation": _arm({"action": "stall", "operation": "NetworkInterfaces_CreateOrUpdate",
                                      "resource": "fw-b-untrust", "times": 1}),
    "Azurite refusing connections for 3 s": _proxy("refuse", 3.0),
    "Azurite black-holing for 3 s": _proxy("blackhole", 3.0),
    "failed NVA's probes hang": _nva("fw-a", "hang"),
    "failed NVA answers 503": _nva("fw-a", "http503"),
}


@dataclass
class FaultFigures:
    tried: int = 0
    converged: int = 0
    unhandled: list[str] = field(default_factory=list)
    writes_without_lock: int = 0
    detail: dict[str, dict[str, Any]] = field(default_factory=dict)


def run_faults(lab: Lab, names: list[str] | None = None, max_runs: int = 25) -> FaultFigures:
    figures = FaultFigures()
    for name in names or list(SCENARIOS):
        lab.fresh()
        assert lab.arm is not None and lab.hub is not None
        engine = lab.engine()
        engine.probe_cycle()
        engine.probe_cycle()
        started = time.monotonic()
        with Watcher(lab.arm, lab.hub.public_ip) as watcher:
            SCENARIOS[name](lab)
            if not name.startswith("failed NVA"):
                lab.nvas["fw-a"].set_mode("down")
            runs = 0
            while runs < max_runs and not lab.converged(engine, "fw-b"):
                engine.probe_cycle()
                runs += 1
                time.sleep(0.2)
        lab.arm.control.clear_faults()
        lab.arm.control.release()
        lab.proxy.set_mode("pass")
        ok = lab.converged(engine, "fw-b")
        failed = [r for r in lab.events.named("RunFailed") if r.get("kind") not in ENGINE_ERRORS]
        figures.tried += 1
        figures.converged += ok
        figures.unhandled += [f"{name}: {r.get('kind')}: {r.get('error')}" for r in failed]
        figures.writes_without_lock += _unlocked_writes(lab)
        figures.detail[name] = {"converged": ok, "runs": runs, "seconds": round(time.monotonic() - started, 1),
                                "failoverFailed": len(lab.events.named("FailoverFailed")),
                                "longestPublicIpDetachedSeconds": round(watcher.longest_detached, 2),
                                "maxNicsHoldingPublicIp": watcher.max_holders}
    return figures


def _unlocked_writes(lab: Lab) -> int:
    """Azure writes issued while no failover or repair held the lock: none may exist (every write follows FailoverStarted)."""
    assert lab.arm is not None
    started = [r for r in lab.events.records if r["event"] in {"FailoverStarted", "FailoverResumed", "DriftDetected"}]
    writes = [r for r in lab.arm.control.requests() if r["method"] == "PUT"]
    return len(writes) if writes and not started else 0
