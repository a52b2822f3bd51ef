"""Fixtures of the console tests: the app's HTTP functions behind a function key, and headless Chromium."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, sync_playwright

from emulation.functions_host import Host, serve
from tests.browser.chrome import FLAGS, chromium
from tests.functions.registered import functions
from tests.integration.rig import Rig


@pytest.fixture
def host(world: Rig, monkeypatch: pytest.MonkeyPatch) -> Iterator[Host]:
    """The real functions, configured for the emulated world, on a loopback port behind a fresh function key."""
    for name, value in world.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("NVA_HA_PROBE_SCHEDULE", "*/5 * * * * *")
    monkeypatch.delenv("NVA_HA_CONFIG_FILE", raising=False)
    with serve(functions(), secrets.token_urlsafe(24)) as h:
        yield h


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[BrowserContext]:
    with sync_playwright() as p:
        # A fresh profile for every test (launch_persistent_context passes it as --user-data-dir).
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=chromium(), headless=True, args=FLAGS,
            viewport={"width": 1280, "height": 900}, locale="en-GB", timezone_id="UTC")
        try:
            yield context
        finally:
            context.close()
