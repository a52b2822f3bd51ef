"""The console shows each appliance's own role beside its health and says plainly when the appliances and Azure disagree."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, expect

from emulation.functions_host import Host
from emulation.harness import role_probe
from tests.browser.chrome import tick, watched
from tests.integration.rig import Rig


@pytest.fixture
def roles(world: Rig) -> Rig:
    """Controller-led with role probes (the roles are shown, never followed); fw-a is the appliances' active."""
    for nva in world.hub.config["clusters"][0]["nvas"]:
        nva["role"] = role_probe(world.nvas[nva["name"]], "text")
    world.nvas["fw-a"].set_role("active")
    return world


def test_roles_beside_health_and_a_plain_disagreement(roles: Rig, host: Host, browser: BrowserContext) -> None:
    tick(2)
    page, problems = watched(browser, host)
    page.goto(f"{host.url}/api/console?code={host.key}&refresh=1")
    card = page.locator("section[data-cluster=hub-fw]")
    expect(card.locator("tr[data-nva=fw-a] .appliance-role")).to_have_text("active")
    expect(card.locator("tr[data-nva=fw-b] .appliance-role")).to_have_text("standby")
    expect(card.locator(".agreement")).to_have_text("The appliances agree with Azure: fw-a claims active.")

    roles.nvas["fw-a"].set_role("standby")
    roles.nvas["fw-b"].set_role("active")
    tick(1)
    page.reload()
    expect(card.locator(".agreement")).to_have_text("The appliances and Azure disagree: fw-b claims active, Azure has fw-a.")
    expect(card.locator(".active-nva")).to_have_text("fw-a")  # controller-led: nothing moved

    roles.nvas["fw-a"].set_role("active")
    tick(1)
    page.reload()
    expect(card.locator(".agreement")).to_contain_text("Split brain: fw-a and fw-b all claim active")
    assert problems == []
