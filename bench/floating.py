"""The floating IP failover against its physical limit, both ways: two sequential NIC writes (remove, then add), or one
moveIpConfigurations operation (shared.adapters.moves) where the subscription has the feature; nothing else."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from emulation.estates import SUB, floating_estate, vip_only
from emulation.harness import ArmEmulator, app_settings, http_probes
from emulation.profiles import Profile
from shared.domain.policy import ManualRequest

from .lab import BenchLab, lab

ROOT = Path(__file__).resolve().parent.parent
MOVE = "virtualNetworks.moveIpConfigurations"


def _failovers(w: BenchLab, profile: Profile, runs: int, shape: str, registered: bool,
               leaves: list[str]) -> tuple[list[float], int, int]:
    """Manual failovers of the dual-stack estate behind a load balancer (no route table): medians of FailoverStarted to
    FailoverCompleted, the most NIC writes and moves one made."""
    samples: list[float] = []
    writes, moves = 0, 0
    for _ in range(runs):
        if w.arm is not None:
            w.arm.stop()
        w.arm = ArmEmulator.start()
        estate = floating_estate(http_probes(w.nvas))
        if shape == "vip-only":
            estate = vip_only(estate)
        w.arm.control.seed(estate.resources)
        w.arm.control.settings(latency=profile.latency, retry_after=profile.retry_after)
        if registered:
            w.arm.control.feature(SUB)
        w.arm.control.moves(leaves=leaves)
        config = estate.config
        for key in ("routeTables", "routeFilter"):
            config["clusters"][0].pop(key, None)
        config["clusters"][0]["policy"] = {"healthyThreshold": 1, "probeTimeoutSeconds": 0.5, "reconcileEverySeconds": 3600}
        table = "f" + uuid.uuid4().hex[:20]
        env = app_settings(w.arm, config, w.azurite.connection_string, table, NVA_HA_QUEUE="q" + table,
                           NVA_HA_POLL_INTERVAL_SECONDS=str(max(0.05, 1.0 * profile.scale)))
        os.environ.update(w.arm.env())
        for nva in w.nvas.values():
            nva.set_mode("up")
        engine = w.start_engine(env)
        engine.probe_cycle()
        w.events.times.clear()
        since = time.time()
        engine.failover("hub-fw", ManualRequest(target="fw-b", reason="bench"))
        started, completed = w.events.first("FailoverStarted"), w.events.first("FailoverCompleted")
        if started is None or completed is None:
            raise RuntimeError("the floating IP failover did not complete")
        samples.append(completed - started)
        writes = max(writes, w.counts(since)["writes"])
        moves = max(moves, sum(r["method"] == "POST" and r["at"] >= since for r in w.arm.control.requests()))
    return samples, writes, moves


def _row(samples: list[float], limit: float, writes: int, moves: int, runs: int) -> dict[str, Any]:
    actuation = round(statistics.median(samples), 3)
    return {"medianSeconds": actuation, "physicalLimitSeconds": round(limit, 3), "ratio": round(actuation / limit, 3),
            "writesPerFailover": writes, "movesPerFailover": moves, "runs": runs}


def bench_floating(w: BenchLab, profile: Profile, runs: int) -> dict[str, Any]:
    """The estate as seeded (its leg public IPs move by NIC writes: 2 writes), then with the cluster's public IP on the VIP
    only: two NIC writes (feature not registered), one move that carries the VIP's public IP, ASG and pool, and one
    move that leaves them behind (then one write puts them back). Each against its limit from the latency profile."""
    nic, move = profile.seconds("networkInterfaces.write"), profile.seconds(MOVE)
    samples, writes, _ = _failovers(w, profile, runs, "as-seeded", False, [])
    out = _row(samples, 2 * nic, writes, 0, runs)
    print(f"  floating IP: actuation {out['medianSeconds']:.2f} s = {out['ratio']:.2f} x limit {2 * nic:.2f} s "
          f"(2 NIC writes of {nic:.2f} s), {writes} writes", flush=True)
    ways = {"twoWrites": (False, [], 2 * nic, "2 NIC writes"),
            "moveCarries": (True, [], move, "1 move"),
            "moveLeavesPublicIp": (True, ["publicIPAddress", "applicationSecurityGroups", "loadBalancerBackendAddressPools"],
                                   move + nic, "1 move + 1 NIC write")}
    out["vipOnly"] = {}
    for name, (registered, leaves, limit, what) in ways.items():
        samples, writes, moves = _failovers(w, profile, runs, "vip-only", registered, leaves)
        row = out["vipOnly"][name] = _row(samples, limit, writes, moves, runs) | {"limit": what}
        print(f"  floating IP, public IP on the VIP only, {name}: actuation {row['medianSeconds']:.2f} s = {row['ratio']:.2f} x "
              f"limit {limit:.2f} s ({what}), {writes} writes, {moves} moves", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.floating`: only the floating IP rows (the full `make bench` runs them too)."""
    parser = argparse.ArgumentParser(prog="python -m bench.floating", description=__doc__)
    parser.add_argument("--scale", type=float, default=0.1, help="latency profile scale")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    with lab() as w:
        w.queue = False  # the change runs inside the failover call, as the manual failover's wait would see it
        bench_floating(w, Profile.load("azure", args.scale), args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
