"""`make bench`: detection, actuation against the physical limit and the serial approach, throttled scale, calls, start-up,
and appliance-led (a role flip to FailoverStarted)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from emulation.harness import ArmEmulator, Azurite, NvaProcess, app_settings, http_probes
from emulation.profiles import Profile
from emulation.queuepump import QueuePump
from emulation.topology import Hub, NvaSpec, hub
from shared.dispatch import Dispatch
from shared.engine import Engine
from shared.schedule import Schedule
from shared.settings import build_engine

from .floating import bench_floating
from .roles import bench_role_flip
from .serial import serial_failover

ROOT = Path(__file__).resolve().parent.parent
NVA_IPS = {"fw-a": {"untrust": "10.0.1.4", "trust": "10.0.2.4"}, "fw-b": {"untrust": "10.0.1.5", "trust": "10.0.2.5"}}


class Events(logging.Handler):
    """Arrival time of each contract event: monotonic, and wall clock (to compare with the emulator's request log)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.times: dict[str, list[float]] = {}
        self.wall: dict[str, list[float]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        name = getattr(record, "microsoft.custom_event.name", None)
        if name:
            self.times.setdefault(name, []).append(time.monotonic())
            self.wall.setdefault(name, []).append(time.time())

    def first(self, name: str) -> float | None:
        return self.times.get(name, [None])[0]

    def locked(self, wall: bool = False) -> float | None:
        """When the failover took the lock: queued for the executor, or (inline) started at once."""
        times = self.wall if wall else self.times
        found = times.get("ChangeDispatched") or times.get("FailoverStarted")
        return found[0] if found else None


@dataclass
class World:
    azurite: Azurite
    nvas: dict[str, NvaProcess]
    events: Events
    arm: ArmEmulator | None = None
    hub: Hub | None = None
    env: dict[str, str] = field(default_factory=dict)
    queue: bool = True  # the app's shape: the timer queues, the executor (a pump playing the host) carries out
    max_polling: float = 0.25  # host.json queues.maxPollingInterval
    pump: QueuePump | None = None

    def fresh(self, profile: Profile, subscriptions: int, tables: int, threshold: int = 2, timeout: float = 0.5) -> Engine:
        """A new emulator seeded with a hub of `tables` route tables over `subscriptions`, and an engine for it."""
        self.stop_pump()
        if self.arm is not None:
            self.arm.stop()
        self.arm = ArmEmulator.start()
        probes = http_probes(self.nvas)
        per_sub = max(1, tables // subscriptions)
        self.hub = hub([NvaSpec(n, ips, probes[n]) for n, ips in NVA_IPS.items()], subscriptions=subscriptions,
                       listed_per_sub=per_sub, discovered_per_sub=0)
        if len(self.hub.listed_tables) > tables:
            drop = set(self.hub.listed_tables[tables:])
            self.hub.resources = [r for r in self.hub.resources if r["id"] not in drop]
            self.hub.listed_tables = self.hub.listed_tables[:tables]
            self.hub.config["clusters"][0]["routeTables"] = self.hub.listed_tables
        self.arm.control.seed(self.hub.resources)
        self.arm.control.settings(latency=profile.latency, retry_after=profile.retry_after, page_size=100)
        config = self.hub.config
        config["clusters"][0]["policy"] = {"unhealthyThreshold": threshold, "healthyThreshold": 1,
                                           "probeTimeoutSeconds": timeout, "reconcileEverySeconds": 3600}
        table = "b" + uuid.uuid4().hex[:20]
        self.env = app_settings(self.arm, config, self.azurite.connection_string, table, NVA_HA_QUEUE="q" + table,
                                NVA_HA_POLL_INTERVAL_SECONDS=str(max(0.05, 1.0 * profile.scale)))
        os.environ.update(self.arm.env())  # azure-identity and azure-core read these from the process
        for nva in self.nvas.values():
            nva.set_mode("up")
        self.events.times.clear()
        self.events.wall.clear()
        return self.start_engine(self.env)

    def start_engine(self, env: dict[str, str]) -> Engine:
        """The engine for these settings; queued, with the host's listener (a pump) running its executor."""
        self.stop_pump()
        engine = build_engine(env, ROOT, queue=self.queue)
        if self.queue:
            def run(body: bytes, _: Any) -> None:
                message = Dispatch.parse(body)
                engine.execute(message.cluster, message)
            self.pump = QueuePump(env["AzureWebJobsStorage"], env["NVA_HA_QUEUE"], run, interval=0.1,
                                  max_interval=self.max_polling).start()
        return engine

    def stop_pump(self) -> None:
        if self.pump is not None:
            self.pump.stop()
            self.pump = None

    def counts(self, since: float) -> dict[str, int]:
        assert self.arm is not None
        log = [r for r in self.arm.control.requests() if r["at"] >= since]
        return {
            "writes": sum(r["method"] in {"PUT", "PATCH", "DELETE"} for r in log),
            "reads": sum(r["method"] == "GET" for r in log),
            "throttled": sum(r["status"] == 429 for r in log),
        }


@contextmanager
def world() -> Iterator[World]:
    events = Events()
    logging.getLogger("nva_failover.events").addHandler(events)
    logging.getLogger("nva_failover.events").setLevel(logging.INFO)
    azurite = Azurite.start()
    nvas = {"fw-a": NvaProcess.start("127.0.0.71"), "fw-b": NvaProcess.start("127.0.0.72")}
    w = World(azurite, nvas, events)
    try:
        yield w
    finally:
        w.stop_pump()
        if w.arm is not None:
            w.arm.stop()
        for nva in nvas.values():
            nva.stop()
        azurite.stop()


def run_on_schedule(engine: Engine, schedule: Schedule, until: threading.Event, limit: float) -> None:
    """Runs probe cycles when the schedule fires, one at a time (the host never overlaps a timer's runs)."""
    deadline = time.monotonic() + limit
    while not until.is_set() and time.monotonic() < deadline:
        fire = schedule.next_after(datetime.now(UTC))
        time.sleep(max(0.0, (fire - datetime.now(UTC)).total_seconds()))
        engine.probe_cycle()


def failover_once(w: World, profile: Profile, tables: int, subscriptions: int, schedule: Schedule) -> dict[str, float]:
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


def bench_failovers(w: World, profile: Profile, tables: list[int], runs: int, schedule: Schedule,
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


def bench_throttled(w: World, profile: Profile, tables: int, subscriptions: int, bucket: tuple[float, float]) -> dict[str, Any]:
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


def bench_startup(w: World, runs: int) -> dict[str, Any]:
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


def markdown(results: dict[str, Any]) -> str:
    d, a, s, c = results["detection"], results["actuation"], results["sideBySide"], results["calls"]
    lines = [
        "# Benchmark results", "",
        f"Emulated Azure, latency profile `emulation/profiles/azure.json` x {results['scale']}; median of "
        f"{results['runs']} runs each; changes run {results.get('executor', 'queued')}. Rerun with `make bench`.", "",
        "| measure | result | reference | ratio | goal |", "| --- | --- | --- | --- | --- |",
        f"| detection (NVA stop to the lock) | {d['medianSeconds']:.2f} s | bound {d['boundSeconds']:.2f} s "
        f"(interval {d['intervalSeconds']:g} s x {d['unhealthyThreshold']} + timeout {d['probeTimeoutSeconds']:g} s) | "
        f"{d['medianSeconds'] / d['boundSeconds']:.2f} | <= 1 |",
    ]
    for n, v in a.items():
        lines.append(f"| lock to first Resource Manager write, {n} route tables | {v['lockToFirstWriteSeconds']:.2f} s | | | |")
    for n, v in a.items():
        lines.append(f"| actuation (lock to FailoverCompleted), {n} route tables | {v['medianSeconds']:.2f} s | "
                     f"physical limit {v['physicalLimitSeconds']:.2f} s | {v['ratio']:.2f} | <= 1.15 |")
    for n, v in s.items():
        lines.append(f"| ours / serial SDK-poller failover, {n} route tables | {v['oursSeconds']:.2f} s | "
                     f"{v['serialSdkPollerSeconds']:.2f} s | {v['ratio']:.2f} | < 1 |")
    if results.get("floating"):
        f = results["floating"]
        lines.append(f"| actuation, floating IP (remove, then add; no route table) | {f['medianSeconds']:.2f} s, "
                     f"{f['writesPerFailover']} writes | physical limit {f['physicalLimitSeconds']:.2f} s (2 NIC writes) "
                     f"| {f['ratio']:.2f} | <= 1.15 |")
        for name, v in (f.get("vipOnly") or {}).items():  # bench/floating.py: the public IP on the VIP only, both ways
            lines.append(f"| actuation, floating IP with the public IP on the VIP only, {name} | {v['medianSeconds']:.2f} s, "
                         f"{v['writesPerFailover']} writes, {v['movesPerFailover']} moves | physical limit "
                         f"{v['physicalLimitSeconds']:.2f} s ({v['limit']}) | {v['ratio']:.2f} | <= 1.15 |")
    if results.get("roleFlip"):
        r = results["roleFlip"]
        lines.append(f"| appliance-led: role flip to FailoverStarted (both NVAs alive) | {r['medianToStartedSeconds']:.2f} s, "
                     f"max {r['maxToStartedSeconds']:.2f} s of {r['runs']} | schedule period {r['intervalSeconds']:g} s | "
                     f"{r['ratioToInterval']:.2f} | max <= period + probe timeout + queue pickup |")
    if results.get("throttled"):
        t = results["throttled"]
        lines.append(f"| throttled: {t['tables']} route tables over {t['subscriptions']} subscriptions | {t['seconds']:.1f} s | "
                     f"bound {t['boundSeconds']:.1f} s ({t.get('binding', 'ARM write bucket')}) | {t['ratio']:.2f} | <= 1.1 |")
        lines.append(f"| throttled: answers of 429 | {t['throttled']} of {t.get('writes', 0) + t.get('reads', 0)} requests | "
                     f"{t.get('writes', 0)} writes, {t.get('reads', 0)} reads | {t.get('throttledShare', 0):.2%} | < 1% |")
    for n, v in c.items():
        lines.append(f"| calls per failover, {n} route tables | {v['writesPerFailover']:g} writes, {v['readsPerFailover']:g} reads "
                     f"| steady cycle: {v['writesPerSteadyCycle']} writes, {v['readsPerSteadyCycle']} reads | "
                     f"{v['readsPerFailover'] / max(1, v['writesPerFailover']):.2f} reads/write | 0 steady writes; "
                     "reads <= 2/write + constant |")
    st = results["startup"]
    lines.append(f"| start-up: import function_app + one probe cycle | {st['app']['medianSeconds']:.2f} s, "
                 f"{st['app']['peakMemoryMiB']:.0f} MiB | dependencies alone {st['deps']['medianSeconds']:.2f} s, "
                 f"{st['deps']['peakMemoryMiB']:.0f} MiB | {st['app']['medianSeconds'] / st['deps']['medianSeconds']:.2f} | |")
    return "\n".join(lines) + "\n"


def max_polling_interval() -> float:
    """host.json's queues.maxPollingInterval (hh:mm:ss.fff), in seconds: how long a queued change may wait for the listener."""
    text = json.loads((ROOT / "host.json").read_text())["extensions"]["queues"]["maxPollingInterval"]
    h, m, s = text.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--scale", type=float, default=0.1, help="latency profile scale")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tables", default="1,10,100", help="route table counts for the actuation runs")
    parser.add_argument("--schedule", default="*/1 * * * * *", help="probe schedule for the detection runs")
    parser.add_argument("--throttled-tables", type=int, default=1000)
    parser.add_argument("--throttled-subscriptions", type=int, default=10)
    parser.add_argument("--bucket", default="200,10", help="write bucket: size,refill per second (ARM's: 200,10)")
    parser.add_argument("--serial-max-tables", type=int, default=100, help="skip the serial comparison above this many tables")
    parser.add_argument("--skip-throttled", action="store_true", help="skip the throttled 1,000-table run")
    parser.add_argument("--inline", action="store_true", help="run changes inside the timer's run (the shape before the queue)")
    parser.add_argument("--max-polling", type=float, default=max_polling_interval(),
                        help="the queue listener's longest wait (default: host.json's maxPollingInterval)")
    parser.add_argument("--quick", action="store_true", help="a tiny case, for make test")
    parser.add_argument("--out", type=Path, default=ROOT / "bench")
    args = parser.parse_args(argv)
    if args.quick:
        args.scale, args.runs, args.tables = 0.02, 1, "1,3"
        args.throttled_tables, args.throttled_subscriptions, args.bucket = 24, 3, "10,20"
    profile = Profile.load("azure", args.scale)
    schedule = Schedule(args.schedule)
    first = schedule.next_after(datetime.now(UTC))
    interval = (schedule.next_after(first) - first).total_seconds()
    size, refill = (float(x) for x in args.bucket.split(","))
    results: dict[str, Any] = {"scale": args.scale, "runs": args.runs, "profile": profile.latency, "retryAfter": profile.retry_after,
                               "executor": "inline" if args.inline else f"queued (listener polling up to every {args.max_polling:g} s)"}
    with world() as w:
        w.queue, w.max_polling = not args.inline, args.max_polling
        print(f"actuation and detection (schedule {args.schedule!r}, latency x {args.scale:g}):", flush=True)
        results.update(bench_failovers(w, profile, [int(n) for n in args.tables.split(",")], args.runs, schedule, interval, 2, 0.5,
                                       args.serial_max_tables))
        print("floating IP:", flush=True)
        results["floating"] = bench_floating(w, profile, args.runs)
        print("appliance-led:", flush=True)
        results["roleFlip"] = bench_role_flip(w, profile, max(args.runs, 5), schedule, interval)
        if not args.skip_throttled:
            print("throttled scale:", flush=True)
            results["throttled"] = bench_throttled(w, profile, args.throttled_tables, args.throttled_subscriptions, (size, refill))
        print("start-up:", flush=True)
        results["startup"] = bench_startup(w, args.runs)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "results.md").write_text(markdown(results))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
