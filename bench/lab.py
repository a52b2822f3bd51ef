"""The bench's lab: Azurite, two NVA processes and the contract events kept up; an emulator and an engine made per run."""

from __future__ import annotations

import json
import logging
import os
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
from shared.domain.messages import Dispatch
from shared.domain.schedule import Schedule
from shared.edge.engine import Engine
from shared.edge.settings import build_engine

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
class BenchLab:
    """The bench's lab: Azurite and two NVA processes kept up, an emulator and an engine made fresh for each run."""

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
def lab() -> Iterator[BenchLab]:
    """Azurite and the two NVAs up, the events recorded, for as long as the benchmark runs."""
    events = Events()
    logging.getLogger("nva_failover.events").addHandler(events)
    logging.getLogger("nva_failover.events").setLevel(logging.INFO)
    azurite = Azurite.start()
    nvas = {"fw-a": NvaProcess.start("127.0.0.71"), "fw-b": NvaProcess.start("127.0.0.72")}
    w = BenchLab(azurite, nvas, events)
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


def max_polling_interval() -> float:
    """host.json's queues.maxPollingInterval (hh:mm:ss.fff), in seconds: how long a queued change may wait for the listener."""
    text = json.loads((ROOT / "host.json").read_text())["extensions"]["queues"]["maxPollingInterval"]
    h, m, s = text.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)

