"""The floating IP failover against its physical limit: two sequential NIC writes (remove, then add), nothing else."""

from __future__ import annotations

import os
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

from emulation.estates import floating_estate
from emulation.harness import ArmEmulator, app_settings, http_probes
from emulation.profiles import Profile
from shared.policy import ManualRequest

from .lab import BenchLab

ROOT = Path(__file__).resolve().parent.parent


def bench_floating(w: BenchLab, profile: Profile, runs: int) -> dict[str, Any]:
    """Manual failovers of the dual-stack estate behind a load balancer (no route table): its VIP with public IP, ASG and
    pool, and the leg public IPs move in one removal and one addition; the limit is 2 NIC writes."""
    nic = profile.seconds("networkInterfaces.write")
    limit = 2 * nic
    samples: list[float] = []
    writes: list[int] = []
    for _ in range(runs):
        if w.arm is not None:
            w.arm.stop()
        w.arm = ArmEmulator.start()
        estate = floating_estate(http_probes(w.nvas))
        w.arm.control.seed(estate.resources)
        w.arm.control.settings(latency=profile.latency, retry_after=profile.retry_after)
        config = estate.config
        for key in ("routeTables", "routeFilter"):
            del config["clusters"][0][key]
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
        writes.append(w.counts(since)["writes"])
    actuation = round(statistics.median(samples), 3)
    print(f"  floating IP: actuation {actuation:.2f} s = {actuation / limit:.2f} x limit {limit:.2f} s "
          f"(2 NIC writes of {nic:.2f} s), {max(writes)} writes", flush=True)
    return {"medianSeconds": actuation, "physicalLimitSeconds": round(limit, 3), "ratio": round(actuation / limit, 3),
            "writesPerFailover": max(writes), "runs": runs}
