"""A whole emulated deployment for engine tests: ARM emulator, Azurite, two NVA processes and the hub topology."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from emulation.harness import ArmEmulator, Azurite, NvaProcess, app_settings, http_probes
from emulation.topology import Hub, two_firewalls
from shared.edge.engine import Engine
from shared.edge.settings import build_engine

ROOT = Path(__file__).resolve().parents[2]
FAST_LATENCY = {"networkInterfaces.write": 0.3, "routeTables.write": 0.2}
FAST_POLICY = {"unhealthyThreshold": 2, "healthyThreshold": 2, "probeTimeoutSeconds": 0.5, "reconcileEverySeconds": 3600}


@dataclass
class Rig:
    arm: ArmEmulator
    azurite: Azurite
    nvas: dict[str, NvaProcess]
    hub: Hub
    table: str
    policy: dict[str, Any] = field(default_factory=lambda: dict(FAST_POLICY))
    seeded: dict[str, dict[str, Any]] = field(default_factory=dict)

    def out_of_scope_changes(self) -> list[str]:
        """Every resource outside the cluster's scope that is not byte-for-byte what was seeded (contract §6)."""
        scope = self.hub.in_scope()
        now = self.snapshot()
        changed = [key for key, body in self.seeded.items() if key not in scope and now.get(key) != body]
        return changed + [key for key in now.keys() - self.seeded.keys() if key not in scope]

    @property
    def queue(self) -> str:
        """The executor's queue of this test (tests share one Azurite, as they do by table name)."""
        return "q" + self.table.lower()

    def env(self, **extra: str) -> dict[str, str]:
        config = json.loads(json.dumps(self.hub.config))
        config["clusters"][0]["policy"] = self.policy
        return app_settings(self.arm, config, self.azurite.connection_string, self.table,
                            NVA_HA_POLL_INTERVAL_SECONDS="0.05", NVA_HA_QUEUE=self.queue, **extra)

    def configure_app(self, monkeypatch: pytest.MonkeyPatch, **extra: str) -> None:
        """The process settings of the Function App (as the host would set them) for this world, on the shipped schedule."""
        for name, value in self.env(**extra).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("NVA_HA_PROBE_SCHEDULE", "*/5 * * * * *")
        monkeypatch.delenv("NVA_HA_CONFIG_FILE", raising=False)

    def engine(self, queue: bool = False, **extra: str) -> Engine:
        """An engine on the test's settings. By default it carries out what it locks itself (the engine's own behaviour);
        with `queue`, it queues changes for the executor, as the function app does."""
        return build_engine(self.env(**extra), ROOT, queue=queue)

    def actor_command(self, cycles: int, interval: float) -> tuple[list[str], dict[str, str]]:
        """A separate actor process running `cycles` probe cycles: for racing and crash tests."""
        env = {**os.environ, **self.env(), "PYTHONPATH": str(ROOT)}
        return [sys.executable, str(ROOT / "tests" / "integration" / "actor.py"), str(cycles), str(interval)], env

    # ---------------------------------------------------------------- reading Azure back
    def snapshot(self) -> dict[str, dict[str, Any]]:
        return self.arm.control.snapshot()

    def pip_holders(self) -> list[str]:
        """The NICs whose IP configurations reference the cluster's public IP."""
        out = []
        for key, body in self.snapshot().items():
            if "/networkinterfaces/" not in key:
                continue
            for ipc in body["properties"]["ipConfigurations"]:
                if (ipc["properties"].get("publicIPAddress") or {}).get("id", "").lower() == self.hub.public_ip.lower():
                    out.append(body["name"])
        return out

    def hops(self) -> dict[str, dict[str, str | None]]:
        """Route table name -> route name -> next hop IP."""
        return {
            body["name"]: {r["name"]: r["properties"].get("nextHopIpAddress") for r in body["properties"]["routes"]}
            for key, body in self.snapshot().items() if "/routetables/" in key
        }

    def tamper(self, resource_id: str, change: Callable[[dict[str, Any]], None]) -> None:
        """Someone else (another principal, not the controller) reads the resource, changes it and writes it back."""
        token = self.arm.control.token("someone-else")
        url, args = f"{self.arm.arm_url}{resource_id}", {
            "params": {"api-version": "2026-03-01"}, "headers": {"Authorization": f"Bearer {token}"},
            "verify": self.arm.ca_path, "timeout": 10}
        body = requests.get(url, **args).json()  # type: ignore[arg-type]
        change(body)
        assert requests.put(url, json=body, **args).ok  # type: ignore[arg-type]

    def set_hop(self, table_id: str, route: str, hop: str) -> None:
        """Someone else rewrites one route's next hop."""
        def change(body: dict[str, Any]) -> None:
            next(r for r in body["properties"]["routes"] if r["name"] == route)["properties"]["nextHopIpAddress"] = hop
        self.tamper(table_id, change)

    def writes(self) -> list[dict[str, Any]]:
        return [r for r in self.arm.control.requests() if r["method"] in {"PUT", "DELETE", "PATCH"}]


@contextmanager
def rig(azurite: Azurite, table: str, nva_factory: Callable[[], NvaProcess], **hub_options: Any) -> Iterator[Rig]:
    arm = ArmEmulator.start()
    try:
        nvas = {"fw-a": nva_factory(), "fw-b": nva_factory()}
        hub = two_firewalls(http_probes(nvas, "/health"), **hub_options)
        arm.control.seed(hub.resources)
        arm.control.settings(latency=FAST_LATENCY, retry_after=10, page_size=3)  # lists page, as long ones do in Azure
        yield Rig(arm, azurite, nvas, hub, table, seeded=arm.control.snapshot())
    finally:
        arm.stop()


class EventLog(logging.Handler):
    """Collects contract events (log records carrying microsoft.custom_event.name)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if hasattr(record, "microsoft.custom_event.name"):
            self.records.append(record)

    def named(self, name: str) -> list[dict[str, Any]]:
        return [dict(vars(r)) for r in self.records if getattr(r, "microsoft.custom_event.name") == name]
