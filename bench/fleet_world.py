"""The emulated world of the scale bench: Azurite, one farm of NVAs, the ARM emulator seeded with a fleet, and counters
of table transactions and events (with their Application Insights envelope size)."""

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
from pathlib import Path
from typing import Any

from azure.core.pipeline.transport import RequestsTransport
from azure.data.tables import TableServiceClient
from azure.monitor.opentelemetry.exporter.export.logs._exporter import _convert_log_to_envelope
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor

from emulation.fleet import Fleet, fleet
from emulation.harness import ArmEmulator, Azurite, app_settings
from emulation.nva_farm import NvaFarm
from shared.adapters.table_store import CLIENT_OPTIONS, TableStateStore
from shared.edge.engine import Engine
from shared.edge.settings import build_engine
from shared.events import EVENT_ATTRIBUTE, EVENT_LOGGER

ROOT = Path(__file__).resolve().parent.parent


class CountingTransport(RequestsTransport):
    """Counts every HTTP request the table client sends (each one a billed Table Storage transaction), by method."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._guard = threading.Lock()
        self.counts: dict[str, int] = {}

    def send(self, request: Any, **kwargs: Any) -> Any:
        with self._guard:
            self.counts[request.method] = self.counts.get(request.method, 0) + 1
        return super().send(request, **kwargs)

    def take(self) -> dict[str, int]:
        with self._guard:
            out, self.counts = self.counts, {}
        return out


class EventCounter(logging.Handler):
    """Contract events by name and cluster, and each one's size as the Azure Monitor exporter would send it."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self._guard = threading.Lock()
        self.seen: list[tuple[str, str, float, dict[str, Any]]] = []  # name, cluster, time.monotonic(), attributes
        self.exported = InMemoryLogRecordExporter()
        provider = LoggerProvider()
        provider.add_log_record_processor(SimpleLogRecordProcessor(self.exported))
        self.otel = LoggingHandler(logger_provider=provider)

    def emit(self, record: logging.LogRecord) -> None:
        name = getattr(record, EVENT_ATTRIBUTE, None)
        if name:
            with self._guard:
                self.seen.append((str(name), str(getattr(record, "cluster", "")), time.monotonic(), dict(vars(record))))

    def first(self, names: set[str], cluster: str) -> float | None:
        """When the first of these events of `cluster` arrived since the last take."""
        with self._guard:
            return next((t for n, c, t, _ in self.seen if n in names and c == cluster), None)

    def take(self) -> tuple[list[tuple[str, str, float, dict[str, Any]]], int]:
        """The events since the last take, and the bytes of their Application Insights envelopes."""
        with self._guard:
            seen, self.seen = self.seen, []
        logs = self.exported.get_finished_logs()
        self.exported.clear()
        size = sum(len(json.dumps(_convert_log_to_envelope(r).as_dict(), default=str)) for r in logs)
        return seen, size


@dataclass
class FleetWorld:
    azurite: Azurite
    farm: NvaFarm
    events: EventCounter
    arm: ArmEmulator | None = None
    fleet: Fleet | None = None
    transport: CountingTransport = field(default_factory=CountingTransport)
    env: dict[str, str] = field(default_factory=dict)

    def fresh(self, clusters: int, queue: bool = False) -> Engine:
        """A new ARM emulator seeded with a fleet of `clusters`, a new state table, every NVA up, and an engine whose
        table client counts its requests."""
        if self.arm is not None:
            self.arm.stop()
        self.arm = ArmEmulator.start()
        self.fleet = fleet(clusters, self.farm.probe)
        self.arm.control.seed(self.fleet.resources)
        self.arm.control.settings(latency={"networkInterfaces.write": 0.3, "routeTables.write": 0.2}, retry_after=1,
                                  page_size=100)
        for i in range(2 * clusters):
            self.farm.set_mode(i, "up")
        table = "s" + uuid.uuid4().hex[:20]
        self.env = app_settings(self.arm, self.fleet.config, self.azurite.connection_string, table, NVA_HA_QUEUE="q" + table,
                                NVA_HA_POLL_INTERVAL_SECONDS="0.05")
        os.environ.update(self.arm.env())  # azure-identity and azure-core read these from the process
        engine = build_engine(self.env, ROOT, queue=queue)
        self.transport = CountingTransport()
        service = TableServiceClient.from_connection_string(self.azurite.connection_string, transport=self.transport,
                                                            **CLIENT_OPTIONS)
        engine.store = TableStateStore(service.get_table_client(table))
        return engine

    def arm_requests(self, since: float) -> int:
        assert self.arm is not None
        return sum(r["at"] >= since for r in self.arm.control.requests())

    def stop(self) -> None:
        if self.arm is not None:
            self.arm.stop()


@contextmanager
def fleet_world(nvas: int) -> Iterator[FleetWorld]:
    events = EventCounter()
    logger = logging.getLogger(EVENT_LOGGER)
    logger.addHandler(events)
    logger.addHandler(events.otel)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # a run of 500 clusters is not printed
    azurite = Azurite.start()
    farm = NvaFarm.start(nvas)
    world = FleetWorld(azurite, farm, events)
    try:
        yield world
    finally:
        world.stop()
        farm.stop()
        azurite.stop()
        logger.removeHandler(events)
        logger.removeHandler(events.otel)
        logger.propagate = True
