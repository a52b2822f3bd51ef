"""Helpers of the console tests: Debian's Chromium and its flags, the timer, and a page whose problems are collected."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from azure.functions.timer import TimerRequest
from playwright.sync_api import BrowserContext, Page

from emulation.functions_host import Host
from emulation.queuepump import drain_all
from tests.functions.registered import functions

# Everything Chromium would fetch on its own (updates, safe browsing, field trials, sync) is off: loopback only.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-default-apps", "--disable-extensions"]


def chromium() -> str:
    path = os.environ.get("NVA_HA_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail("the console test needs Chromium: `make chromium` installs Debian's package as root "
                    "(apt-get install chromium); elsewhere install Chromium and set NVA_HA_CHROMIUM to its path")
    return path


def tick(times: int = 1, gap: float = 0.0) -> None:
    """Run the app's timer function `times` times."""
    for i in range(times):
        if i and gap:
            time.sleep(gap)  # spacing the probe cycles as the 5 s schedule would, shortened: only for a readable timeline
        functions()["probe"].get_user_function()(TimerRequest())
        drain_all()  # what the run queued, carried out by the served app's executor


def watched(context: BrowserContext, host: Host) -> tuple[Page, list[str]]:
    """A page whose script errors and requests to any other origin are collected."""
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda err: problems.append(f"script error: {err}"))
    page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None)
    page.on("request", lambda req: None if req.url.startswith((host.url, "data:")) else problems.append(f"request to {req.url}"))
    return page, problems
