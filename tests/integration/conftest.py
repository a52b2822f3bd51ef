"""Fixtures for engine integration tests: a whole emulated deployment and an event collector."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest

from emulation.harness import Azurite, NvaProcess
from tests.integration.rig import EventLog, Rig, rig


@pytest.fixture
def world(azurite: Azurite, table_name: str, nva_factory: Callable[[], NvaProcess],
          monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    with rig(azurite, table_name, nva_factory) as r:
        for name, value in r.arm.env().items():  # azure-identity and azure-core read these from the process
            monkeypatch.setenv(name, value)
        yield r


@pytest.fixture
def events() -> Iterator[EventLog]:
    handler = EventLog()
    logger = logging.getLogger("nva_failover.events")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
