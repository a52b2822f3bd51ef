"""The operators' console in headless Chromium, against the real function code serving emulated Azure and Azurite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import requests
from playwright.sync_api import BrowserContext, expect

from emulation.functions_host import Host
from emulation.harness import free_port
from emulation.profiles import Profile
from tests.browser.chrome import tick, watched
from tests.integration.rig import EventLog, Rig

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "console.png"


def test_console_dry_run_failover_timeline_pause_resume_and_bad_key(world: Rig, host: Host, browser: BrowserContext,
                                                                    events: EventLog, tmp_path: Path) -> None:
    tick(2)
    page, problems = watched(browser, host)
    page.goto(f"{host.url}/api/console?code={host.key}&refresh=1")
    card = page.locator("section[data-cluster=hub-fw]")

    # Both NVAs, their roles and health, the active one.
    fw_a, fw_b = card.locator("tr[data-nva=fw-a]"), card.locator("tr[data-nva=fw-b]")
    expect(fw_a).to_contain_text("active")
    expect(fw_a).to_contain_text("Healthy")
    expect(fw_b).to_contain_text("standby")
    expect(fw_b).to_contain_text("Healthy")
    expect(card.locator(".active-nva")).to_have_text("fw-a")
    expect(card.locator(".badges")).to_contain_text("steady")
    expect(card.locator("table.history")).to_contain_text("No failover yet.")
    unlabelled = page.evaluate("[...document.querySelectorAll('input, select')].filter(e => e.labels.length === 0).map(e => e.id)")
    assert unlabelled == []

    # A dry run shows the changes and writes nothing; Escape (the keyboard) cancels it.
    world.arm.control.clear_requests()
    card.get_by_label("Target NVA").select_option("fw-b")
    card.get_by_label("Reason", exact=True).fill("patching fw-a")
    card.get_by_role("button", name="Dry run…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Fail hub-fw over to fw-b?")
    planned = requests.post(f"{host.url}/api/clusters/hub-fw/failover", headers={"x-functions-key": host.key},
                            json={"target": "fw-b", "dryRun": True}, timeout=30).json()["changes"]
    expect(dialog.locator("tbody tr")).to_have_count(len(planned))
    expect(dialog).to_contain_text("detachPublicIp")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert world.writes() == []
    assert world.pip_holders() == ["fw-a-untrust"]

    # Dry run again, then confirm: the failover runs, the page shows the new active NVA and the timeline.
    card.get_by_role("button", name="Dry run…").click()
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Fail over to fw-b").click()
    expect(card.locator(".msg")).to_contain_text("Failover to fw-b done", timeout=30_000)
    expect(card.locator(".active-nva")).to_have_text("fw-b")
    assert world.pip_holders() == ["fw-b-untrust"]
    history = requests.get(f"{host.url}/api/clusters/hub-fw/history", headers={"x-functions-key": host.key}, timeout=10).json()
    latest = history["failovers"][0]
    assert (latest["trigger"], latest["reason"], latest["to"]) == ("manual", "patching fw-a", "fw-b")
    gantt = card.locator(".timeline svg.gantt")
    expect(gantt.locator("g[data-kind=write]")).to_have_count(len(latest["writes"]))
    expect(gantt.locator("g[data-mark=completed]")).to_have_count(1)
    expect(card.locator("table.history tbody tr")).to_have_count(1)
    expect(card.locator("table.history")).to_contain_text("patching fw-a")

    # Pause with a reason, then resume.
    card.get_by_label("Reason for pausing").fill("maintenance window")
    card.get_by_role("button", name="Pause").click()
    expect(card.locator(".badges")).to_contain_text("paused")
    expect(card.get_by_role("button", name="Resume")).to_be_visible()
    expect(card.get_by_text("Paused (maintenance window)")).to_be_visible()  # rev. 3: the status's pausedReason
    assert events.named("ClusterPaused")[-1]["reason"] == "maintenance window"
    card.get_by_role("button", name="Resume").click()
    expect(card.locator(".badges")).to_contain_text("automatic")
    assert len(events.named("ClusterResumed")) == 1

    # The page refreshes itself: the active NVA fails, the timer fails over, the page shows it with its detection.
    # Azure's latency profile (scaled by 0.25) for this one, so that the screenshot shows writes of realistic lengths.
    profile = Profile.load("azure", 0.25)
    world.arm.control.settings(latency=profile.latency, retry_after=profile.retry_after)
    world.nvas["fw-b"].set_mode("down")
    tick(3, gap=2.0)
    expect(card.locator(".active-nva")).to_have_text("fw-a", timeout=15_000)
    expect(fw_b).to_contain_text("Failed")
    expect(card.locator("table.history tbody tr")).to_have_count(2)
    expect(gantt.locator("g[data-kind=detect]")).to_have_count(1)
    expect(card.locator(".timeline")).to_contain_text("fw-b → fw-a")
    # The README's picture: refreshed on request only, so a test run leaves the work tree as it found it.
    shot = SCREENSHOT if os.environ.get("NVA_HA_UPDATE_SCREENSHOT") == "1" else tmp_path / "console.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000

    # A wrong key: the page says so clearly.
    page.get_by_label("Function key").fill("not-the-key")
    page.get_by_role("button", name="Use key").click()
    banner = page.locator("#banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("The function key was refused (HTTP 401)")
    assert problems and all("401" in p for p in problems), problems  # the refused calls, and nothing else
    assert requests.get(f"{host.url}/api/console?code=not-the-key", timeout=10).status_code == 401


def test_console_on_a_phone_and_when_the_api_fails(world: Rig, host: Host, browser: BrowserContext,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    tick(2)
    page, problems = watched(browser, host)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{host.url}/api/console?code={host.key}&refresh=1")
    card = page.locator("section[data-cluster=hub-fw]")
    expect(card.locator("tr[data-nva=fw-b]")).to_contain_text("Healthy")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone's screen
    for button in ("Dry run…", "Pause"):
        box = card.get_by_role("button", name=button).bounding_box()
        assert box is not None and box["height"] >= 44 and box["x"] >= 0 and box["x"] + box["width"] <= 390
    # A failover made elsewhere (here: the API) appears by itself, its timeline drawn to the phone's width.
    done = requests.post(f"{host.url}/api/clusters/hub-fw/failover", headers={"x-functions-key": host.key}, json={}, timeout=60)
    assert done.status_code == 200 and done.json()["to"] == "fw-b"
    gantt = card.locator(".timeline svg.gantt")
    expect(gantt.locator("g[data-kind=write]")).to_have_count(len(done.json()["changes"]), timeout=15_000)
    box = gantt.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert problems == []

    # The state table goes away: the page shows the API's error and keeps the last data it had.
    dead = f"http://127.0.0.1:{free_port()}/devstoreaccount1"
    monkeypatch.setenv("AzureWebJobsStorage", world.azurite.connection_string.replace(world.azurite.table_endpoint, dead))
    banner = page.locator("#banner")
    expect(banner).to_be_visible(timeout=15_000)
    expect(banner).to_contain_text("The API answered an error")
    expect(banner).to_contain_text("StateUnavailable (HTTP 503)")
    expect(card.locator("tr[data-nva=fw-a]")).to_be_visible()
    monkeypatch.setenv("AzureWebJobsStorage", world.azurite.connection_string)
    expect(banner).to_be_hidden(timeout=15_000)
