"""`python -m bench.readiness`: the permissions gate's cost on a failover's critical path, and a cold `check` on 1 and 100 tables."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from emulation.profiles import Profile
from shared.adapters.permissions import PermissionCache
from shared.domain.desired import plan_changes
from shared.edge.settings import build_engine

from .lab import ROOT, BenchLab, lab

PERMISSIONS = "Microsoft.Authorization/permissions"


def _log_between(w: BenchLab, start: float, end: float) -> list[dict[str, Any]]:
    assert w.arm is not None
    return [r for r in w.arm.control.requests() if start <= r["at"] <= end]


def failover_reads(w: BenchLab, profile: Profile, warm: bool) -> dict[str, Any]:
    """Fail the active NVA over and count the calls between FailoverStarted and FailoverCompleted.
    Warm: the engine that fails over computed readiness before (its first run reconciles). New: a new process (engine)
    takes over a table whose reconcile another one did; its first run starts reading its permissions in the background.
    Also: what the gate reads when it finds the cache empty (no background read)."""
    engine = w.fresh(profile, 1, 10)
    engine.probe_cycle()  # first sight: reconcile, readiness, permissions read (the cache is warm from here)
    engine.probe_cycle()
    cold_gate_reads = 0
    if not warm:
        cluster = engine.config.clusters[0]
        changes = plan_changes(cluster, "fw-b", engine.network.read(cluster))
        empty = build_engine(w.env, ROOT)
        empty.assessor.gate(changes)
        cache = empty.assessor.permissions
        cold_gate_reads = cache.reads if isinstance(cache, PermissionCache) else 0
        engine = build_engine(w.env, ROOT)
    w.nvas["fw-a"].set_mode("down")
    for _ in range(6):
        engine.probe_cycle()
        if w.events.first("FailoverCompleted") is not None:
            break
        time.sleep(1.0)  # the timer's fastest schedule (the default is every 5 s)
    ended_wall = time.time()
    started = w.events.first("FailoverStarted")
    assert started is not None, "no failover started"
    log = _log_between(w, time.time() - (time.monotonic() - started), ended_wall)  # FailoverStarted .. now
    assert engine.status("hub-fw")["active"] == "fw-b", "the failover did not complete"
    changes = plan_changes(engine.config.clusters[0], "fw-a", engine.network.read(engine.config.clusters[0]))
    gate_runs = 200
    t0 = time.perf_counter()
    for _ in range(gate_runs):
        engine.assessor.gate(changes)
    gate_us = (time.perf_counter() - t0) / gate_runs * 1e6
    return {
        "permissionReadsDuringFailover": sum(PERMISSIONS in r["path"] for r in log),
        "readsDuringFailover": sum(r["method"] == "GET" and PERMISSIONS not in r["path"] for r in log),
        "writesDuringFailover": sum(r["method"] != "GET" for r in log),
        "gateMicroseconds": round(gate_us, 1),
        "emptyCacheGateReads": cold_gate_reads,
    }


def cold_check(w: BenchLab, profile: Profile, tables: int, runs: int) -> dict[str, Any]:
    """`check` from a new engine (nothing cached): time and Resource Manager calls."""
    seconds: list[float] = []
    calls: dict[str, int] = {}
    for _ in range(runs):
        w.fresh(profile, 1 if tables < 10 else 2, tables)
        engine = build_engine(w.env, ROOT)
        engine.probe_cycle()  # the state exists; this run's reconcile is not what is measured
        engine = build_engine(w.env, ROOT)
        started_wall, started = time.time(), time.perf_counter()
        answer = engine.check("hub-fw")
        seconds.append(time.perf_counter() - started)
        log = _log_between(w, started_wall, time.time())
        assert answer["ready"] is True, answer
        calls = {"reads": sum(r["method"] == "GET" for r in log), "permissionReads": sum(PERMISSIONS in r["path"] for r in log),
                 "writes": sum(r["method"] != "GET" for r in log)}
    return {"medianSeconds": round(statistics.median(seconds), 3), "runs": runs, **calls}


def markdown(results: dict[str, Any]) -> str:
    warm, cold = results["gate"]["warm"], results["gate"]["cold"]
    lines = [
        f"# Readiness benchmark (latency profile x {results['scale']:g})", "",
        "| measure | figure |", "| --- | --- |",
        f"| permission reads on a failover's critical path, warm (target 0) | {warm['permissionReadsDuringFailover']} |",
        f"| same, a new instance that has not reconciled (its first run reads them in the background) | "
        f"{cold['permissionReadsDuringFailover']} |",
        f"| what the gate reads itself on an empty cache | {cold['emptyCacheGateReads']} (in parallel) |",
        f"| other reads / writes during the failover (warm) | {warm['readsDuringFailover']} / {warm['writesDuringFailover']} |",
        f"| the gate's evaluation, warm (CPU only) | {warm['gateMicroseconds']:.0f} µs |",
    ]
    for n, c in results["check"].items():
        lines.append(f"| cold `check`, {n} route tables | {c['medianSeconds']:.2f} s (median of {c['runs']}), "
                     f"{c['reads']} reads of which {c['permissionReads']} permissions, {c['writes']} writes |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.readiness", description=__doc__)
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tables", default="1,100")
    parser.add_argument("--out", type=Path, default=ROOT / "bench")
    args = parser.parse_args(argv)
    profile = Profile.load("azure", args.scale)
    results: dict[str, Any] = {"scale": args.scale}
    with lab() as w:
        results["gate"] = {"warm": failover_reads(w, profile, True), "cold": failover_reads(w, profile, False)}
        results["check"] = {n: cold_check(w, profile, int(n), args.runs) for n in args.tables.split(",")}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results-readiness.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "results-readiness.md").write_text(markdown(results))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
