"""The console's readiness panel in headless Chromium: the recorded summary, and `Check now` with every check's detail."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, expect

from emulation.functions_host import Host
from tests.browser.chrome import tick, watched
from tests.integration.rig import Rig

pytest.importorskip("shared.domain.readiness", reason="readiness (issue 11) is not merged yet")


def test_readiness_summary_and_check_now(world: Rig, host: Host, browser: BrowserContext) -> None:
    tick(2)
    page, problems = watched(browser, host)
    page.goto(f"{host.url}/api/console?code={host.key}&refresh=1")
    panel = page.locator("section[data-cluster=hub-fw] .readiness")
    expect(panel).to_be_visible()
    expect(panel.get_by_role("heading", name="Readiness")).to_be_visible()

    world.nvas["fw-b"].set_mode("down")  # the only standby: a failover could not succeed now
    tick(2)
    panel.get_by_role("button", name="Check now").click()
    expect(panel.locator("ul.checks li[data-check=standby]")).to_contain_text("✕")
    expect(panel.locator("ul.checks li[data-check=state]")).to_contain_text("✓")
    expect(panel.locator("ul.checks li")).to_have_count(5)
    expect(panel).to_contain_text("not ready")
    expect(panel.locator("ul.failing")).to_contain_text("standby")
    page.reload()  # what the check recorded is what the status now reports
    expect(panel.locator("ul.failing")).to_contain_text("standby")
    assert problems == []
