"""Fixtures that start the emulated world (ARM emulator, Azurite, simulated NVAs) on free ports and tear it down."""

from __future__ import annotations

import itertools
import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from emulation.harness import ArmEmulator, Azurite, NvaProcess
from tests.integration.rig import EventLog, Rig, rig

_addresses = itertools.count(11)


@pytest.fixture
def arm(monkeypatch: pytest.MonkeyPatch) -> Iterator[ArmEmulator]:
    """A fresh Resource Manager emulator; the process environment points azure-identity and the product at it."""
    emulator = ArmEmulator.start()
    for name, value in emulator.env().items():
        monkeypatch.setenv(name, value)
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    """One Azurite Table service for the session; tests isolate themselves by table name."""
    service = Azurite.start()
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture
def table_name() -> str:
    return "t" + uuid.uuid4().hex[:20]


@pytest.fixture
def nva_factory() -> Iterator[Callable[[], NvaProcess]]:
    """Starts simulated NVAs, each on its own loopback address (127.0.0.11, .12, …); stops them after the test."""
    started: list[NvaProcess] = []

    def start() -> NvaProcess:
        nva = NvaProcess.start(f"127.0.0.{next(_addresses) % 200 + 11}")
        started.append(nva)
        return nva

    try:
        yield start
    finally:
        for nva in started:
            nva.stop()


def _deployed(azurite: Azurite, table_name: str, nva_factory: Callable[[], NvaProcess], monkeypatch: pytest.MonkeyPatch,
              **shape: Any) -> Iterator[Rig]:
    with rig(azurite, table_name, nva_factory, **shape) as r:
        for name, value in r.arm.env().items():  # azure-identity and azure-core read these from the process
            monkeypatch.setenv(name, value)
        yield r
        # Whatever the test did, nothing outside the cluster's scope was written (contract §6 "In scope only").
        assert r.out_of_scope_changes() == [], "resources outside the cluster's scope changed"


@pytest.fixture
def world(azurite: Azurite, table_name: str, nva_factory: Callable[[], NvaProcess],
          monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    """A whole emulated deployment: the emulator seeded with the hub, two NVA processes, a fresh state table."""
    yield from _deployed(azurite, table_name, nva_factory, monkeypatch)


@pytest.fixture
def lb_world(azurite: Azurite, table_name: str, nva_factory: Callable[[], NvaProcess],
             monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    """The same deployment with every NIC leg in an internal load balancer's backend pool and an ASG."""
    yield from _deployed(azurite, table_name, nva_factory, monkeypatch, behind_lb=True)


@pytest.fixture
def events() -> Iterator[EventLog]:
    """Every contract event emitted during the test."""
    handler = EventLog()
    logger = logging.getLogger("nva_failover.events")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
