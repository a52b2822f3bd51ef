"""Appliance-led: the time from the appliances' role flip to FailoverStarted, against the schedule's period."""

from __future__ import annotations

import json
import random
import statistics
import threading
import time
from typing import Any

from emulation.harness import role_probe
from emulation.profiles import Profile
from shared.domain.schedule import Schedule

from .lab import BenchLab, lab, max_polling_interval, run_on_schedule


def bench_role_flip(w: BenchLab, profile: Profile, runs: int, schedule: Schedule, interval: float, timeout: float = 0.5,
                    seed: int = 22) -> dict[str, Any]:
    """Both NVAs alive, appliance-led; at a random moment between runs the appliances make fw-b active. Measures the flip
    to FailoverStarted (the executor began; queued, as the app runs), to the lock, and to FailoverCompleted."""
    rng = random.Random(seed)
    to_started: list[float] = []
    to_lock: list[float] = []
    to_completed: list[float] = []
    for _ in range(runs):
        w.fresh(profile, 1, 1, timeout=timeout)
        config = json.loads(w.env["NVA_HA_CONFIG"])
        for nva in config["clusters"][0]["nvas"]:
            nva["role"] = role_probe(w.nvas[nva["name"]], "json")
        config["clusters"][0]["policy"]["decider"] = "appliance"
        w.env["NVA_HA_CONFIG"] = json.dumps(config)
        w.nvas["fw-b"].set_role("standby")
        w.nvas["fw-a"].set_role("active")
        engine = w.start_engine(w.env)
        engine.probe_cycle()
        engine.probe_cycle()
        w.events.times.clear()
        done = threading.Event()
        runner = threading.Thread(target=run_on_schedule, args=(engine, schedule, done, 120), daemon=True)
        runner.start()
        time.sleep(0.3 + rng.random() * interval)  # flip at a random moment between runs
        flipped = time.monotonic()
        w.nvas["fw-a"].set_role("standby")
        w.nvas["fw-b"].set_role("active")
        while w.events.first("FailoverCompleted") is None and time.monotonic() - flipped < 120:
            time.sleep(0.02)
        done.set()
        runner.join()
        started, locked, completed = w.events.first("FailoverStarted"), w.events.locked(), w.events.first("FailoverCompleted")
        if started is None or locked is None or completed is None:
            raise RuntimeError("the appliance-led failover did not complete")
        to_started.append(started - flipped)
        to_lock.append(locked - flipped)
        to_completed.append(completed - flipped)
    w.nvas["fw-a"].set_role("standby")
    out = {"runs": runs, "intervalSeconds": interval, "probeTimeoutSeconds": timeout,
           "medianToStartedSeconds": round(statistics.median(to_started), 3), "maxToStartedSeconds": round(max(to_started), 3),
           "medianToLockSeconds": round(statistics.median(to_lock), 3),
           "medianToCompletedSeconds": round(statistics.median(to_completed), 3),
           "ratioToInterval": round(statistics.median(to_started) / interval, 3)}
    print(f"  role flip to FailoverStarted: median {out['medianToStartedSeconds']:.2f} s, max {out['maxToStartedSeconds']:.2f} s "
          f"(a run every {interval:g} s; to the lock {out['medianToLockSeconds']:.2f} s, to FailoverCompleted "
          f"{out['medianToCompletedSeconds']:.2f} s)", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.roles --schedule '*/5 * * * * *' --runs 6`: this row alone (make bench runs it with the others)."""
    import argparse
    from datetime import UTC, datetime

    parser = argparse.ArgumentParser(prog="python -m bench.roles", description=__doc__)
    parser.add_argument("--schedule", default="*/1 * * * * *")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scale", type=float, default=0.1, help="latency profile scale")
    args = parser.parse_args(argv)
    schedule = Schedule(args.schedule)
    first = schedule.next_after(datetime.now(UTC))
    interval = (schedule.next_after(first) - first).total_seconds()
    with lab() as w:
        w.max_polling = max_polling_interval()
        print(json.dumps(bench_role_flip(w, Profile.load("azure", args.scale), args.runs, schedule, interval), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
