"""Two function apps in two regions: each its own AzureWebJobsStorage, one shared state connection, one failover."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from azure.data.tables import TableServiceClient

from emulation.harness import Azurite
from tests.integration.rig import ROOT, Rig
from tests.integration.test_failover import FAILOVER_WRITES, assert_on, settle, written


@pytest.fixture
def host_storages() -> Iterator[tuple[Azurite, Azurite]]:
    """Each app's own AzureWebJobsStorage: a storage service of its own, as two regions' storage accounts are."""
    first = Azurite.start()
    try:
        second = Azurite.start()
        try:
            yield first, second
        finally:
            second.stop()
    finally:
        first.stop()


def tables(storage_connection: str) -> set[str]:
    return {t.name for t in TableServiceClient.from_connection_string(storage_connection).list_tables()}


def app_env(world: Rig, host: Azurite, principal: str) -> dict[str, str]:
    """A region's app: its host storage, the shared state account under the connection name NvaState, its identity."""
    env = {**os.environ, **world.env(), "PYTHONPATH": str(ROOT), "AZURE_CLIENT_ID": principal,
           "AzureWebJobsStorage": host.connection_string, "NVA_HA_STATE_CONNECTION": "NvaState",
           "NvaState": world.azurite.connection_string}
    return env


def test_apps_in_two_regions_sharing_the_state_connection_fail_over_once(
        world: Rig, host_storages: tuple[Azurite, Azurite]) -> None:
    settle(world)  # both NVAs healthy in the shared state
    world.nvas["fw-a"].set_mode("down")
    world.engine().probe_cycle()  # first failed probe recorded: the next cycle of either app fails over
    world.arm.control.clear_requests()
    start_at = time.time() + 4.0  # both processes are up and built by then; their first cycles start together
    apps = []
    for host, principal in zip(host_storages, ("app-region1", "app-region2"), strict=True):
        command = [sys.executable, str(ROOT / "tests" / "integration" / "actor.py"), "3", "0.2", str(start_at)]
        apps.append(subprocess.Popen(command, env=app_env(world, host, principal), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True))
    outputs = []
    for app in apps:
        out, err = app.communicate(timeout=120)
        assert app.returncode == 0, err[-2000:]
        outputs.append([json.loads(line)["hub-fw"] for line in out.splitlines()])

    assert_on(world, "fw-b", "10.0.2.5")
    state = world.engine().status("hub-fw")
    assert (state["active"], state["epoch"], state["phase"]) == ("fw-b", 1, "steady")
    assert [h["epoch"] for h in world.engine().store.history("hub-fw")] == [1]
    # Exactly one failover: the writes of one, all made by the one app that won the lock.
    writes = world.writes()
    assert written(world) == FAILOVER_WRITES
    principals = {w["principal"] for w in writes}
    winners = [i for i, lines in enumerate(outputs) if any("fw-a failed" in line for line in lines)]
    assert len(winners) == 1, outputs
    assert principals == {("app-region1", "app-region2")[winners[0]]}
    # The state lives only in the shared account: neither app's host storage holds it.
    assert world.table in tables(world.azurite.connection_string)
    for host in host_storages:
        assert world.table not in tables(host.connection_string)
