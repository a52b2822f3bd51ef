"""Fixtures that start the emulated world (ARM emulator, Azurite, simulated NVAs) on free ports and tear it down."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator

import pytest

from emulation.harness import ArmEmulator, Azurite, NvaProcess

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
