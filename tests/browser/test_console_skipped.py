"""The console shows what a failover went on without (contract §6 "Partial beats none")."""

from __future__ import annotations

from playwright.sync_api import BrowserContext, expect

from emulation.functions_host import Host
from tests.browser.chrome import tick, watched
from tests.integration.rig import EventLog, Rig


def test_the_history_names_the_skipped_writes_of_a_failover(world: Rig, host: Host, browser: BrowserContext,
                                                            events: EventLog) -> None:
    gone = world.hub.listed_tables[0]
    assert world.arm.control.delete(gone)  # a decommissioned spoke's table, still configured
    tick(2)
    world.nvas["fw-a"].set_mode("down")
    tick(2)
    assert world.pip_holders() == ["fw-b-untrust"] and len(events.named("FailoverCompleted")) == 1
    page, problems = watched(browser, host)
    page.goto(f"{host.url}/api/console?code={host.key}&refresh=1")
    cell = page.locator("section[data-cluster=hub-fw] table.history td[data-label=Changes]")
    expect(cell).to_have_count(1)
    expect(cell).to_contain_text("(1 skipped)")
    expect(cell).to_have_attribute("title", f"{gone}: not found in Azure")
    assert problems == []
