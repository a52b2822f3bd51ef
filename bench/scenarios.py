"""The failover scenarios `make bench` measures: detection and actuation, the serial comparison, throttled scale, start-up."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from typing import Any

from emulation.profiles import Profile
from shared.domain.schedule import Schedule

from .lab import ROOT, BenchLab, run_on_schedule
from .serial import serial_failover


def failover_once(w: BenchLab, profile: Profile, tables: int, subscriptions: int, schedule: Schedule) -> dict[str, float]:
    """Stop the active NVA while the timer runs on its schedule; time detection and actuation; count calls."""
    engine = w.fresh(profile, subscriptions, tables)
    engine.probe_cycle()  # first sight: reconcile
    engine.probe_cycle()  # healthy
    done = threading.Event()
    runner = threading.Thread(target=run_on_schedule, args=(engine, schedule, done, 600), daemon=True)
    runner.start()
    time.sleep(0.3 + (hash(uuid.uuid4()) % 1000) / 1000 * 0.7)  # stop at a random moment between runs
    stopped = time.monotonic()
    w.nvas["fw-a"].set_mode("down")
    while w.events.first("FailoverCompleted") is None and time.monotonic() - stopped < 600:
        time.sleep(0.05)
    started, completed = w.events.locked(), w.events.first("FailoverCompleted")
    locked_wall = w.events.locked(wall=True)
    done.set()
    runner.join()
    if started is None or completed is None or locked_wall is None:
        raise RuntimeError("the failover did not complete")
    calls = w.counts(time.time() - (time.monotonic() - started))
    assert w.arm is not None
    first_write = min(r["at"] for r in w.arm.control.requests() if r["method"] == "PUT" and r["at"] >= locked_wall)
    steady_since = time.time()
    engine.probe_cycle()
    steady = w.counts(steady_since)
    return {"detection": started - stopped, "actuation": completed - started, "toFirstWrite": first_write - locked_wall,
            "writes": calls["writes"],
            "reads": calls["reads"], "steady_writes": steady["writes"], "steady_reads": steady["reads"]}


def median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def bench_failovers(w: BenchLab, profile: Profile, tables: list[int], runs: int, schedule: Schedule,
                    interval: float, threshold: int, timeout: float, serial_max: int = 100) -> dict[str, Any]:
    nic, rt = profile.seconds("networkInterfaces.write"), profile.seconds("routeTables.write")
    limit = max(2 * nic, rt)
    out: dict[str, Any] = {"detection": {}, "actuation": {}, "sideBySide": {}, "calls": {}}
    detections: list[float] = []
    for n in tables:
        subs = 1 if n == 1 else 2
        samples = [failover_once(w, profile, n, subs, schedule) for _ in range(runs)]
        detections += [s["detection"] for s in samples]
        actuation = median([s["actuation"] for s in samples])
        out["actuation"][str(n)] = {"medianSeconds": actuation, "physicalLimitSeconds": round(limit, 3),
                                    "ratio": round(actuation / limit, 3), "runs": runs,
                                    "lockToFirstWriteSeconds": median([s["toFirstWrite"] for s in samples])}
        out["calls"][str(n)] = {"writesPerFailover": median([s["writes"] for s in samples]),
                                "readsPerFailover": median([s["reads"] for s in samples]),
                                "writesPerSteadyCycle": max(s["steady_writes"] for s in samples),
                                "readsPerSteadyCycle": max(s["steady_reads"] for s in samples)}
        theirs: list[float] = []
        for _ in range(runs if n <= serial_max else 0):
            w.fresh(profile, subs, n)
            assert w.arm is not None and w.hub is not None
            theirs.append(serial_failover(w.arm.arm_url, w.hub, "fw-a", "fw-b", "10.0.2.5", "10.0.2.4"))
        if theirs:
            out["sideBySide"][str(n)] = {"oursSeconds": actuation, "serialSdkPollerSeconds": median(theirs),
                                         "ratio": round(actuation / median(theirs), 3)}
        print(f"  {n:4} route tables: lock to first write {out['actuation'][str(n)]['lockToFirstWriteSeconds']:.2f} s; "
              f"actuation {actuation:.2f} s = {actuation / limit:.2f} x limit {limit:.2f} s; "
              f"serial with the SDK poller {median(theirs) if theirs else float('nan'):.2f} s", flush=True)
    bound = interval * threshold + timeout
    out["detection"] = {"medianSeconds": median(detections), "boundSeconds": bound, "intervalSeconds": interval,
                        "unhealthyThreshold": threshold, "probeTimeoutSeconds": timeout, "runs": len(detections)}
    return out


def throttled_bound(tables: int, subscriptions: int, reads: int, bucket: tuple[float, float], write_seconds: float,
                    principal_wide: bool = True) -> tuple[float, str]:
    """The least time the writes (and one status read each) can take under ARM's buckets and Microsoft.Network's
    5-minute limits (1,000 writes, 10,000 reads per subscription and region): the binding limit, plus one write."""
    size, refill = bucket
    writes = tables + 2
    per_sub = -(-tables // subscriptions) + 2  # the busiest subscription holds the NICs too
    scopes = 1 if principal_wide else subscriptions
    candidates = {
        "ARM write bucket": max(0.0, writes / scopes - size) / refill,
        "ARM read bucket": max(0.0, reads / scopes - 250.0) / 25.0,
        "Microsoft.Network writes per 5 minutes": (per_sub - 1) // 1000 * 300.0,
        "Microsoft.Network reads per 5 minutes": (reads // subscriptions) // 10000 * 300.0,
    }
    binding = max(candidates, key=lambda k: candidates[k])
    return candidates[binding] + write_seconds, binding


def bench_throttled(w: BenchLab, profile: Profile, tables: int, subscriptions: int, bucket: tuple[float, float]) -> dict[str, Any]:
    """A failover of `tables` route tables over `subscriptions` under one write bucket for the principal."""
    engine = w.fresh(profile, subscriptions, tables)
    assert w.arm is not None
    engine.probe_cycle()
    engine.probe_cycle()
    w.arm.control.throttle({"writes": bucket}, scope="principal")
    w.nvas["fw-a"].set_mode("down")
    since = time.time()
    deadline = time.monotonic() + 1800
    while w.events.first("FailoverCompleted") is None and time.monotonic() < deadline:
        engine.probe_cycle()
    started, completed = w.events.locked(), w.events.first("FailoverCompleted")
    if started is None or completed is None:
        raise RuntimeError("the throttled failover did not complete")
    size, refill = bucket
    writes = tables + 2
    took = completed - started
    calls = w.counts(since)
    # The fewest reads a failover can make: one status read per write, plus reading the tables and NICs before and after.
    least_reads = writes + 2 * (tables // 100 + subscriptions + 6)
    bound, binding = throttled_bound(tables, subscriptions, least_reads, bucket, profile.seconds("routeTables.write"))
    w.arm.control.throttle(None)
    share = calls["throttled"] / max(1, calls["writes"] + calls["reads"])
    print(f"  {tables} route tables over {subscriptions} subscriptions, bucket {size:g} + {refill:g}/s: {took:.1f} s, "
          f"bound {bound:.1f} s ({binding}; {took / bound:.2f} x), {calls['writes']} writes, {calls['reads']} reads, "
          f"{calls['throttled']} answers of 429 ({share:.2%})", flush=True)
    return {"tables": tables, "subscriptions": subscriptions, "bucket": {"size": size, "refillPerSecond": refill},
            "seconds": round(took, 2), "boundSeconds": round(bound, 2), "binding": binding, "ratio": round(took / bound, 3),
            "writes": calls["writes"], "reads": calls["reads"], "throttled": calls["throttled"],
            "throttledShare": round(share, 4), "writesExpected": writes}


STARTUP = r"""
import os, resource, sys, time
t = time.perf_counter()
if sys.argv[1] == "deps":
    import azure.functions, azure.identity, azure.mgmt.network, azure.data.tables, azure.monitor.opentelemetry, requests, pydantic
else:
    import function_app
    function_app.runtime.probe_cycle()
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def bench_startup(w: BenchLab, runs: int) -> dict[str, Any]:
    """Time and peak memory to import function_app and run one probe cycle, against importing its dependencies."""
    w.fresh(Profile.load("azure", 0.01), 1, 1)
    out = {}
    for what in ("deps", "app"):
        samples = []
        for _ in range(runs):
            env = {**os.environ, **w.env, "PYTHONPATH": str(ROOT)}
            run = subprocess.run([sys.executable, "-c", STARTUP, what], capture_output=True, text=True, env=env, cwd=ROOT, check=True)
            seconds, rss = (float(x) for x in run.stdout.split()[-2:])
            samples.append((seconds, rss))
        out[what] = {"medianSeconds": median([s for s, _ in samples]), "peakMemoryMiB": median([m for _, m in samples])}
    print(f"  start-up: dependencies {out['deps']['medianSeconds']:.2f} s / {out['deps']['peakMemoryMiB']:.0f} MiB; "
          f"function_app + one probe cycle {out['app']['medianSeconds']:.2f} s / {out['app']['peakMemoryMiB']:.0f} MiB", flush=True)
    return out

