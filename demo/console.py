"""Leaves the demo's world up with the operators' console: emulated Azure, two NVAs, the real timer and HTTP functions."""

from __future__ import annotations

import argparse
import json
import logging
import secrets
import sys
import threading
import time
from contextlib import ExitStack
from datetime import UTC, datetime

from emulation.functions_host import serve
from emulation.profiles import Profile
from shared.domain.schedule import Schedule

from .world import start_world


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo.console", description=__doc__)
    parser.add_argument("--port", type=int, default=7071, help="loopback port of the app (7071, as `func start`)")
    parser.add_argument("--key", default=None, help="the function key (default: a new random one)")
    parser.add_argument("--scale", type=float, default=0.5, help="latency profile scale (1 = Azure's figures)")
    parser.add_argument("--schedule", default="*/5 * * * * *", help="NVA_HA_PROBE_SCHEDULE (NCRONTAB, six fields)")
    parser.add_argument("--fail-after", type=float, default=None, metavar="SECONDS", help="stop fw-a's probe answers after this long")
    parser.add_argument("--run-for", type=float, default=None, metavar="SECONDS", help="stop after this long (default: Ctrl-C)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    key = args.key or secrets.token_urlsafe(24)
    profile, schedule = Profile.load("azure", args.scale), Schedule(args.schedule)
    stop = threading.Event()
    with ExitStack() as stack:
        print("starting Azurite, the Resource Manager emulator and two simulated NVAs…", flush=True)
        nvas = start_world(stack, ("127.0.0.71", "127.0.0.72"), profile, args.schedule, "nvahaconsole").nvas

        import function_app  # the real app: its registered functions are what runs

        functions = {str(f.get_function_name()): f for f in function_app.app.get_functions()}
        timer = functions["probe"].get_user_function()
        from azure.functions.timer import TimerRequest

        def tick() -> None:
            while not stop.is_set():
                fire = schedule.next_after(datetime.now(UTC))
                if stop.wait(max(0.0, (fire - datetime.now(UTC)).total_seconds())):
                    return
                try:
                    timer(TimerRequest())
                except Exception:  # the function logs its own failures; the demo timer keeps its schedule
                    logging.exception("probe run failed")

        ticker = threading.Thread(target=tick, name="timer", daemon=True)
        ticker.start()
        stack.callback(ticker.join)
        stack.callback(stop.set)
        host = stack.enter_context(serve(functions, key, args.port))
        print(f"\nThe console: {host.url}/api/console?code={key}\n"
              f"The API:     curl -s {host.url}/api/clusters -H 'x-functions-key: {key}'\n"
              f"Fail an NVA: curl -s -X POST {nvas['fw-a'].control}/mode -d '{json.dumps({'mode': 'down'})}'  "
              f"(and {json.dumps({'mode': 'up'})} to bring it back; fw-b: {nvas['fw-b'].control})\n"
              "Ctrl-C stops everything.", flush=True)
        started = time.monotonic()
        try:
            while not stop.wait(0.5):
                elapsed = time.monotonic() - started
                if args.fail_after is not None and elapsed >= args.fail_after:
                    print(">>> stopping fw-a: its probe port now refuses connections", flush=True)
                    nvas["fw-a"].set_mode("down")
                    args.fail_after = None
                if args.run_for is not None and elapsed >= args.run_for:
                    break
        except KeyboardInterrupt:
            print("\nstopping…", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
