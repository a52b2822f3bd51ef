"""`python -m bench`: its options, the scenarios run in order, and the result files written."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from emulation.profiles import Profile
from shared.domain.schedule import Schedule

from .floating import bench_floating
from .lab import ROOT, lab, max_polling_interval
from .report import markdown
from .roles import bench_role_flip
from .scenarios import bench_failovers, bench_startup, bench_throttled

DESCRIPTION = """`make bench`: detection, actuation against the physical limit and the serial approach, throttled scale, calls, start-up,
and appliance-led (a role flip to FailoverStarted)."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=DESCRIPTION)
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
    with lab() as w:
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

