"""Fixtures of the unit tests."""

from __future__ import annotations

import pytest

from tests.unit.orchestration import Fakes, build


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> Fakes:
    """The orchestration's fakes (tests/unit/orchestration.py): both NVAs healthy, fw-a active, reconciled just now."""
    return build(monkeypatch)
