"""The chaos lab: Azurite behind a proxy that can fail, two NVAs, a fresh ARM emulator per experiment, a watcher."""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulation.harness import ArmEmulator, Azurite, NvaProcess, app_settings, http_probes
from emulation.queuepump import QueuePump
from emulation.tcpproxy import TcpProxy
from emulation.topology import Hub, two_firewalls
from shared.adapters.arm_client import NetworkTuning
from shared.domain.messages import Dispatch
from shared.edge.engine import Engine
from shared.edge.settings import build_engine

ROOT = Path(__file__).resolve().parent.parent
QUICK = NetworkTuning(write_deadline=15, read_deadline=10, read_timeout=3, connect_timeout=2, max_retry_after=2)
# A victim that waits on a hung request for as long as Azure might take, so that it can be killed at any chosen moment.
PATIENT = NetworkTuning(write_deadline=60, read_deadline=60, read_timeout=30, connect_timeout=2, max_retry_after=2)
LATENCY = {"networkInterfaces.write": 0.3, "routeTables.write": 0.2}


class Events(logging.Handler):
    """Every contract event record, in order."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        name = getattr(record, "microsoft.custom_event.name", None)
        if name:  # the record's own `name` is the logger's: the event's name goes under "event"
            fields = {k: v for k, v in vars(record).items() if isinstance(v, str | int | float | bool)}
            self.records.append({**fields, "event": name})

    def named(self, name: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r["event"] == name]


class Watcher:
    """Polls the emulator: the most NICs ever holding the public IP at once, and the longest time it sat on none."""

    def __init__(self, arm: ArmEmulator, public_ip: str, every: float = 0.05) -> None:
        self.arm, self.public_ip, self.every = arm, public_ip.lower(), every
        self.max_holders = 0
        self.longest_detached = 0.0
        self.detached: list[tuple[float, float]] = []  # (from, to) on time.monotonic(): the stretches on no NIC
        self._detached_since: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def holders(self) -> list[str]:
        snapshot = self.arm.control.snapshot()
        return [
            b["name"] for b in snapshot.values() if b["type"].endswith("networkInterfaces")
            for c in b["properties"]["ipConfigurations"]
            if (c["properties"].get("publicIPAddress") or {}).get("id", "").lower() == self.public_ip
        ]

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                holders = self.holders()
            except Exception:  # the emulator is stopping
                return
            now = time.monotonic()
            self.max_holders = max(self.max_holders, len(holders))
            if not holders:
                self._detached_since = self._detached_since or now
                self.longest_detached = max(self.longest_detached, now - self._detached_since)
            elif self._detached_since is not None:
                self.detached.append((self._detached_since, now))
                self._detached_since = None
            self._stop.wait(self.every)

    def detached_after(self, moment: float) -> float:
        """How long the public IP sat on no NIC after `moment` (a crash, say), in seconds."""
        stretches = [*self.detached, *([(self._detached_since, time.monotonic())] if self._detached_since else [])]
        return max((end - max(start, moment) for start, end in stretches if end > moment), default=0.0)

    def __enter__(self) -> Watcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Lab:
    azurite: Azurite
    proxy: TcpProxy
    nvas: dict[str, NvaProcess]
    events: Events
    arm: ArmEmulator | None = None
    hub: Hub | None = None
    env: dict[str, str] = field(default_factory=dict)

    def fresh(self, policy: dict[str, Any] | None = None) -> None:
        """A new emulator seeded with the hub, a new state table, both NVAs up, Azurite reachable."""
        if self.arm is not None:
            self.arm.stop()
        self.arm = ArmEmulator.start()
        self.hub = two_firewalls(http_probes(self.nvas))
        self.arm.control.seed(self.hub.resources)
        self.arm.control.settings(latency=LATENCY, retry_after=10)
        config = self.hub.config
        config["clusters"][0]["policy"] = policy or {"unhealthyThreshold": 2, "healthyThreshold": 1, "probeTimeoutSeconds": 0.5,
                                                     "reconcileEverySeconds": 3600}
        self.proxy.set_mode("pass")
        azurite = self.azurite.connection_string.replace(f":{self.azurite.port}/", f":{self.proxy.port}/")
        table = "c" + uuid.uuid4().hex[:20]
        self.env = app_settings(self.arm, config, azurite, table, NVA_HA_POLL_INTERVAL_SECONDS="0.05", NVA_HA_QUEUE="q" + table,
                                NVA_HA_MANUAL_WAIT_SECONDS="15")
        os.environ.update(self.arm.env())
        for nva in self.nvas.values():
            nva.set_mode("up")
        self.events.records.clear()

    def engine(self, actor: str | None = None, queue: bool = False) -> Engine:
        """An engine on the lab's settings: by default carrying out what it locks; with `queue`, as the app does."""
        return build_engine(self.env, ROOT, QUICK, actor, queue=queue)

    def converged(self, engine: Engine, active: str) -> bool:
        """The state says steady on `active`, and Azure agrees: the public IP on it alone, every owned route on it."""
        status = engine.status("hub-fw")
        return (status["active"], status["phase"]) == (active, "steady") and self.traffic_on(active)

    def traffic_on(self, nva: str, except_tables: tuple[str, ...] = ()) -> bool:
        """Azure has the public IP on `nva` alone and every owned route of every managed table (but those excepted) on it."""
        assert self.arm is not None and self.hub is not None
        snapshot = self.arm.control.snapshot()
        trust = {"fw-a": "10.0.2.4", "fw-b": "10.0.2.5"}[nva]
        holders = [b["name"] for b in snapshot.values() if b["type"].endswith("networkInterfaces")
                   for c in b["properties"]["ipConfigurations"]
                   if (c["properties"].get("publicIPAddress") or {}).get("id", "").lower() == self.hub.public_ip.lower()]
        routes_ok = all(r["properties"].get("nextHopIpAddress") == trust
                        for t in self.hub.all_tables if t not in except_tables
                        for r in snapshot[t.lower()]["properties"]["routes"] if r["name"].endswith("-via-fw"))
        return holders == [f"{nva}-untrust"] and routes_ok


def executor_pump(engine: Engine, env: dict[str, str] | os._Environ[str]) -> QueuePump:
    """The host's queue listener of an app instance whose engine is `engine`: each message goes to engine.execute."""
    def run(body: bytes, _: Any) -> None:
        message = Dispatch.parse(body)
        engine.execute(message.cluster, message)
    return QueuePump(env["AzureWebJobsStorage"], env["NVA_HA_QUEUE"], run)


@contextmanager
def lab() -> Iterator[Lab]:
    events = Events()
    logger = logging.getLogger("nva_failover.events")
    logger.addHandler(events)
    logger.setLevel(logging.DEBUG)
    azurite = Azurite.start()
    proxy = TcpProxy(("127.0.0.1", azurite.port))
    nvas = {"fw-a": NvaProcess.start("127.0.0.81"), "fw-b": NvaProcess.start("127.0.0.82")}
    the_lab = Lab(azurite, proxy, nvas, events)
    try:
        yield the_lab
    finally:
        logger.removeHandler(events)
        if the_lab.arm is not None:
            the_lab.arm.stop()
        for nva in nvas.values():
            nva.stop()
        proxy.close()
        azurite.stop()
