"""The fakes hold to what the real adapters promise: conditional state writes, history recorded once, If-Match writes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from emulation.topology import two_firewalls
from shared.domain.config import parse_config
from shared.domain.desired import desired, plan_changes
from shared.domain.policy import initial_state
from shared.domain.state import FailoverRecord
from shared.errors import StateConflict
from tests.fakes import FakeNetwork, ManualClock, MemoryStateStore

HUB = two_firewalls({n: {"protocol": "tcp", "address": "127.0.0.1", "port": 22} for n in ("fw-a", "fw-b")})
CLUSTER = parse_config(HUB.config).clusters[0]


def test_the_memory_store_writes_only_on_the_current_etag() -> None:
    store = MemoryStateStore()
    first = store.create(initial_state(CLUSTER))
    with pytest.raises(StateConflict):
        store.create(initial_state(CLUSTER))
    second = store.save(replace(first, paused=True))
    assert second.etag != first.etag
    with pytest.raises(StateConflict):
        store.save(replace(first, paused=False))  # written on what it read before the pause
    assert store.load(CLUSTER.name) == second


def test_the_memory_store_records_a_staged_history_row_once() -> None:
    store = MemoryStateStore()
    at = datetime(2026, 1, 1, tzinfo=UTC)
    record = FailoverRecord(1, "fw-a", "fw-b", "auto", "fw-a failed", at, at, 0)
    assert store.record_history(CLUSTER.name, 1) is None
    store.stage_history(CLUSTER.name, record, [{"resource": "r", "action": "updateRoutes"}])
    row = store.record_history(CLUSTER.name, 1)
    assert row is not None and row["epoch"] == 1 and row["changes"] == [{"resource": "r", "action": "updateRoutes"}]
    assert store.record_history(CLUSTER.name, 1) == row and store.history(CLUSTER.name) == [row]


def test_the_fake_network_plans_a_stale_write_again_and_keeps_public_ip_holders() -> None:
    network = FakeNetwork(HUB.resources, HUB.all_tables, ManualClock())
    view = network.read(CLUSTER)
    changes = plan_changes(CLUSTER, "fw-b", view)
    want = desired(CLUSTER, "fw-b", view)
    done = network.apply(changes, want, lambda _: None, lambda _: None)
    assert len(done) == len(changes) == len(network.writes)
    assert plan_changes(CLUSTER, "fw-b", network.read(CLUSTER)) == []
    holder = network.body(HUB.public_ip)["properties"]["ipConfiguration"]["id"]
    assert holder == f"{HUB.nics['fw-b']['untrust']}/ipConfigurations/ipconfig1"
    assert network.apply(changes, want, lambda _: None, lambda _: None) == []  # stale etags, already right: nothing written
    assert len(network.writes) == len(changes)
