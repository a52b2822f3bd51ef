"""`python -m bench.scale`: one app with 1, 10, 100 and 500 clusters (two NVAs each, a farm of real HTTP listeners on
127.20.x.y): per probe cycle, its duration against the schedule period, the Table Storage transactions and the events
(with their Application Insights size); the counts docs/cost.md's formula uses; and detection at the 1 s schedule."""

from __future__ import annotations

import argparse
import json
import logging
import random
import statistics
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.lab import run_on_schedule
from emulation.queuepump import QueuePump
from shared.adapters.table_store import TableStateStore
from shared.domain.messages import Dispatch
from shared.domain.schedule import Schedule, lease_seconds
from shared.domain.state import ClusterState
from shared.edge.engine import Engine
from shared.errors import StateUnavailable

from .fleet_world import FleetWorld, fleet_world

ROOT = Path(__file__).resolve().parent.parent
MONTH = 30 * 86400


class PerClusterStore(TableStateStore):
    """The store as before this bench's change: no cycle-wide query, so each cluster reads its own state."""

    def load_all(self) -> dict[str, ClusterState]:
        raise StateUnavailable("per-cluster reads (the comparison)")


def median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def one_cycle(w: FleetWorld, engine: Engine) -> dict[str, Any]:
    since, started = time.time(), time.monotonic()
    engine.probe_cycle()
    took = time.monotonic() - started
    calls = w.transport.take()
    seen, size = w.events.take()
    return {"seconds": took, "transactions": sum(calls.values()), "reads": calls.get("GET", 0),
            "writes": sum(v for k, v in calls.items() if k != "GET"), "events": len(seen), "bytes": size,
            "probeCycles": sum(n == "ProbeCycle" for n, *_ in seen), "arm": w.arm_requests(since),
            "names": dict(Counter(n for n, *_ in seen))}


def bench_clusters(w: FleetWorld, clusters: int, cycles: int) -> dict[str, Any]:
    """Steady cycles of a fleet: every NVA up, every state recorded, nothing to change."""
    engine = w.fresh(clusters)
    engine.probe_cycle()  # first sight: states created, Azure read back once (reconcile)
    for _ in range(5):  # settled: a run with nothing to tell but its heartbeat (the first sight's load can flap probes)
        w.events.take()
        engine.probe_cycle()
        if len(w.events.take()[0]) == 1:
            break
    w.transport.take()
    w.events.take()
    samples = [one_cycle(w, engine) for _ in range(cycles)]
    table = engine.store
    assert isinstance(table, TableStateStore)
    engine.store = per_cluster = PerClusterStore(table._table)
    per_cluster._ready = True  # the table exists: a steady cycle is compared
    quiet = logging.getLogger("nva_failover.engine")
    level, quiet.level = quiet.level, logging.ERROR
    try:
        before = one_cycle(w, engine)
    finally:
        quiet.setLevel(level)
        engine.store = table
    # One cluster's standby stops answering: its ProbeCycle is due (a change), with NvaHealthChanged, besides the heartbeat.
    w.farm.set_mode(1, "down")
    changed = [one_cycle(w, engine) for _ in range(2)]
    w.farm.set_mode(1, "up")
    out = {
        "clusters": clusters, "nvas": 2 * clusters, "cycles": cycles,
        "medianSeconds": median([s["seconds"] for s in samples]), "maxSeconds": round(max(s["seconds"] for s in samples), 3),
        "transactions": max(s["transactions"] for s in samples), "reads": max(s["reads"] for s in samples),
        "writes": max(s["writes"] for s in samples), "transactionsPerClusterRead": before["transactions"],
        "events": max(s["events"] for s in samples), "bytesPerCycle": max(s["bytes"] for s in samples),
        "eventsMedian": statistics.median(s["events"] for s in samples),
        "eventsOnChange": max(c["events"] for c in changed), "armRequests": max(s["arm"] for s in samples),
        "eventsBefore": clusters,  # one ProbeCycle per cluster per run before this change
        "eventNames": max(samples, key=lambda s: s["events"])["names"],
        "eventNamesOnChange": max(changed, key=lambda s: s["events"])["names"],
    }
    print(f"  {clusters:4} clusters: cycle {out['medianSeconds']:.2f} s (max {out['maxSeconds']:.2f}); table "
          f"{out['transactions']} transactions ({out['reads']} reads, {out['writes']} writes; per-cluster reads: "
          f"{out['transactionsPerClusterRead']}); {out['events']} events at most ({out['bytesPerCycle']} B, {out['eventNames']}), "
          f"{out['eventsOnChange']} when one NVA changed {out['eventNamesOnChange']}; {out['armRequests']} ARM requests", flush=True)
    return out


def bench_detection(w: FleetWorld, clusters: int, runs: int, expression: str, threshold: int = 2,
                    timeout: float = 0.5) -> dict[str, Any]:
    """On `expression`'s schedule with `clusters` clusters (changes queued to an executor, as in the app): stop one
    cluster's active NVA at a random moment; time from the stop to the lock (the change queued), and to completion."""
    schedule = Schedule(expression)
    first = schedule.next_after(datetime.now(UTC))
    interval = (schedule.next_after(first) - first).total_seconds()
    engine = w.fresh(clusters, queue=True)

    def execute(body: bytes, _: Any) -> None:
        message = Dispatch.parse(body)
        engine.execute(message.cluster, message)

    pump = QueuePump(w.env["AzureWebJobsStorage"], w.env["NVA_HA_QUEUE"], execute, interval=0.1, max_interval=0.25).start()
    detections, completions, durations = [], [], []
    try:
        engine.probe_cycle()
        engine.probe_cycle()
        time.sleep(2)  # the first-sight reconciles drain
        assert w.fleet is not None
        for r in range(runs):
            member = w.fleet.members[(r * 7 + 3) % clusters]
            w.events.take()
            done = threading.Event()
            runner = threading.Thread(target=run_on_schedule, args=(engine, schedule, done, 120), daemon=True)
            runner.start()
            time.sleep(0.3 + random.random() * interval)
            stopped = time.monotonic()
            w.farm.set_mode(2 * member.index, "down")
            while w.events.first({"FailoverCompleted"}, member.name) is None and time.monotonic() - stopped < 60:
                time.sleep(0.02)
            locked = w.events.first({"ChangeDispatched", "FailoverStarted"}, member.name)
            completed = w.events.first({"FailoverCompleted"}, member.name)
            done.set()
            runner.join()
            seen, _ = w.events.take()
            durations += [float(a["durationMs"]) / 1000 for n, c, _, a in seen if n == "ProbeCycle" and c == "*"]
            if locked is None or completed is None:
                raise RuntimeError(f"the failover of {member.name} did not complete")
            detections.append(locked - stopped)
            completions.append(completed - stopped)
    finally:
        pump.stop()
    bound = interval * threshold + timeout
    out = {"clusters": clusters, "schedule": expression, "intervalSeconds": interval, "unhealthyThreshold": threshold,
           "probeTimeoutSeconds": timeout, "boundSeconds": bound, "runs": runs, "leaseSeconds": lease_seconds(schedule),
           "medianSeconds": median(detections), "maxSeconds": round(max(detections), 3),
           "medianToCompletedSeconds": median(completions), "cycleMedianSeconds": median(durations or [0.0])}
    print(f"  detection at {expression!r} with {clusters} clusters: median {out['medianSeconds']:.2f} s, max "
          f"{out['maxSeconds']:.2f} s, bound {bound:.2f} s; stop to FailoverCompleted {out['medianToCompletedSeconds']:.2f} s; "
          f"lease {out['leaseSeconds']:g} s; cycle {out['cycleMedianSeconds']:.2f} s", flush=True)
    return out


def markdown(results: dict[str, Any]) -> str:
    lines = ["# Scale: many clusters in one app, and the one-second schedule", "",
             "Emulated Azure (Azurite for the state table, the ARM emulator), one farm process of real HTTP listeners, "
             "two NVAs per cluster on 127.20.x.y; production-shaped clusters (emulation/fleet.py), every tenth pair sharing "
             f"a route table. Steady cycles run back to back, {results['cycles']} per size, on a shared 2-core machine. "
             "Rerun with `python -m bench.scale` (`--quick`: a small run).", "",
             "| clusters | cycle median (max) | in 1 s / 5 s | table transactions per cycle | before: reads per cluster "
             "| events per cycle (bytes) | one NVA changed | before: events | ARM requests |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in results["sizes"]:
        fits = f"{'yes' if r['maxSeconds'] <= 1 else 'no'} / {'yes' if r['maxSeconds'] <= 5 else 'no'}"
        lines.append(f"| {r['clusters']} | {r['medianSeconds']:.2f} s ({r['maxSeconds']:.2f} s) | {fits} | "
                     f"{r['transactions']} ({r['reads']} read, {r['writes']} write) | {r['transactionsPerClusterRead']} | "
                     f"{r['events']} ({r['bytesPerCycle']} B) | {r['eventsOnChange']} | {r['eventsBefore']} | {r['armRequests']} |")
    for d in results.get("detection", []):
        lines += ["", "| measure | result | bound | ratio | goal |", "| --- | --- | --- | --- | --- |",
                  f"| detection at `{d['schedule']}`, {d['clusters']} clusters (NVA stop to the lock), median of {d['runs']} "
                  f"| {d['medianSeconds']:.2f} s (max {d['maxSeconds']:.2f} s) | {d['boundSeconds']:.2f} s (interval "
                  f"{d['intervalSeconds']:g} s x {d['unhealthyThreshold']} + timeout {d['probeTimeoutSeconds']:g} s) | "
                  f"{d['maxSeconds'] / d['boundSeconds']:.2f} | <= 1 |",
                  f"| stop to FailoverCompleted at `{d['schedule']}` | {d['medianToCompletedSeconds']:.2f} s | lease "
                  f"{d['leaseSeconds']:g} s, cycle {d['cycleMedianSeconds']:.2f} s | | |"]
    lines += ["", "Counts for docs/cost.md (per probe run, steady; a month is 30 days):", "",
              "| clusters | table transactions / run | events / run | event bytes / run | runs a month at 5 s / 1 s |",
              "| --- | --- | --- | --- | --- |"]
    for r in results["sizes"]:
        lines.append(f"| {r['clusters']} | {r['transactions']} | {r['events']} | {r['bytesPerCycle']} | "
                     f"{MONTH // 5:,} / {MONTH:,} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    parser.add_argument("--clusters", default="1,10,100,500")
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--detection-clusters", type=int, default=100)
    parser.add_argument("--detection-runs", type=int, default=5)
    parser.add_argument("--schedule", default="*/1 * * * * *")
    parser.add_argument("--quick", action="store_true", help="a small run: 1 and 10 clusters, 2 cycles, one detection")
    parser.add_argument("--out", type=Path, default=ROOT / "bench")
    args = parser.parse_args(argv)
    if args.quick:
        args.clusters, args.cycles, args.detection_clusters, args.detection_runs = "1,10", 2, 10, 1
    sizes = [int(n) for n in args.clusters.split(",")]
    results: dict[str, Any] = {"cycles": args.cycles, "sizes": [], "detection": []}
    with fleet_world(2 * max([*sizes, args.detection_clusters])) as w:
        print("steady cycles:", flush=True)
        results["sizes"] = [bench_clusters(w, n, args.cycles) for n in sizes]
        if args.detection_runs:
            print("detection:", flush=True)
            results["detection"] = [bench_detection(w, args.detection_clusters, args.detection_runs, args.schedule)]
    text = markdown(results)
    if not args.quick:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "results-scale.json").write_text(json.dumps(results, indent=2) + "\n")
        (args.out / "results-scale.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
