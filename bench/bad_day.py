"""`python -m bench.bad_day`: one automatic failover on the production-shaped hub (three subscriptions, eight managed route
tables), on a clean day and on a bad day (emulation.bad_day: a table deleted, one locked, one denied by policy, one not
permitted, a subscription that cannot be listed). Prints seconds to the public IP on the standby and to completion, the
Azure writes, and what was skipped. Latencies: emulation/profiles/azure.json, scaled (--scale)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
import uuid
from pathlib import Path
from typing import Any

from emulation.bad_day import spoil
from emulation.harness import Azurite, NvaProcess
from emulation.profiles import Profile
from tests.integration.rig import EventLog, rig

ROOT = Path(__file__).resolve().parent.parent
PRINCIPAL = "system-assigned"  # the emulator's name for the app's managed identity


def one(azurite: Azurite, profile: Profile, bad: bool, addresses: list[str]) -> dict[str, Any]:
    started: list[NvaProcess] = []

    def nva() -> NvaProcess:
        started.append(NvaProcess.start(addresses[len(started)]))
        return started[-1]

    saved = dict(os.environ)
    events = EventLog()
    logger = logging.getLogger("nva_failover.events")
    logger.addHandler(events)
    logger.setLevel(logging.INFO)
    try:
        with rig(azurite, "b" + uuid.uuid4().hex[:20], nva, subscriptions=3, listed_per_sub=2) as world:
            os.environ.update(world.arm.env())
            world.arm.control.settings(latency=profile.latency, retry_after=profile.retry_after)
            expected = spoil(world.arm.control, world.hub, PRINCIPAL, ["*"]) if bad else {}
            engine = world.engine()
            for _ in range(2):
                engine.probe_cycle()
            world.arm.control.clear_requests()
            world.nvas["fw-a"].set_mode("down")
            engine.probe_cycle()  # the first failed probe
            t0 = time.monotonic()
            engine.probe_cycle()  # fw-a declared failed: the failover runs in this run
            took = time.monotonic() - t0
            [completed] = events.named("FailoverCompleted")
            skipped = json.loads(completed["skipped"])
            assert world.pip_holders() == ["fw-b-untrust"] and {s["resource"] for s in skipped} == set(expected)
            return {"day": "bad" if bad else "clean", "failoverSeconds": round(took, 2),
                    "durationMs": completed["durationMs"], "azureWrites": len(world.writes()),
                    "changes": len(json.loads(completed["changes"])), "skipped": len(skipped)}
    finally:
        logger.removeHandler(events)
        os.environ.clear()
        os.environ.update(saved)  # the emulator's environment goes with it
        for n in started:
            n.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=0.1, help="latency scale of the Azure profile (1 = Azure's)")
    args = parser.parse_args()
    profile = Profile.load("azure", args.scale)
    azurite = Azurite.start()
    try:
        results = [one(azurite, profile, bad, [f"127.0.0.{231 + 2 * i}", f"127.0.0.{232 + 2 * i}"])
                   for i, bad in enumerate((False, True))]
    finally:
        azurite.stop()
    print(json.dumps({"scale": args.scale, "runs": results}, indent=2))


if __name__ == "__main__":
    main()
