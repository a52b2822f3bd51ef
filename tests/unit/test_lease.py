"""Leases judged by local observation: timestamps written by another clock never decide; the holder stops first; fence()
never waits on the network; lease timings that cannot keep a lease are refused."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.adapters.table_store import TableStateStore
from shared.control.context import Tuning
from shared.control.lease import RELEASED, LeaseKeeper, LeaseWatch, outlast
from shared.domain.state import ClusterState, Journal
from shared.errors import ConfigError, StateConflict
from tests.fakes import MemoryStateStore

LEASE = 0.3  # seconds: short, so the tests are quick; what is asserted is the order of events, not durations


def now() -> datetime:
    return datetime.now(UTC)


def state_with(lease_until: datetime, owner: str = "other", etag: str = "1") -> ClusterState:
    journal = Journal("failover", 1, "fw-a", "fw-b", "auto", "test", now(), owner, lease_until)
    return ClusterState("hub-fw", "fw-a", epoch=1, phase="failing_over", journal=journal, etag=etag)


def stored(state: ClusterState) -> tuple[MemoryStateStore, ClusterState]:
    """A memory state store holding `state`, and the state as stored (with its etag)."""
    store = MemoryStateStore()
    return store, store.create(state)


@pytest.mark.parametrize("skew", [-3.0, 3.0])
def test_a_record_that_is_not_renewed_lapses_after_a_lease_of_local_time_whatever_its_timestamps(skew: float) -> None:
    stale = state_with(now() + timedelta(seconds=skew))  # written by a clock 3 s ahead of ours, or 3 s behind
    lapsed = outlast(lambda: stale, stale, now, LEASE)
    assert lapsed is not None and lapsed.etag == stale.etag
    assert lapsed.journal is not None and not lapsed.journal.lease_live(now())  # lapsed by our clock: a takeover can write


def test_a_renewed_record_is_alive_even_when_its_timestamps_say_it_lapsed_long_ago() -> None:
    behind = state_with(now() - timedelta(seconds=3))  # a holder whose clock is 3 s behind: its lease looks lapsed
    loads = iter([behind, state_with(now() - timedelta(seconds=2.9), etag="2")])  # then it renews
    assert outlast(lambda: next(loads), behind, now, LEASE) is None


def test_a_watch_remembers_a_record_across_runs_and_waits_out_the_holders_longer_lease() -> None:
    longer = state_with(now(), etag="1")
    assert longer.journal is not None
    longer = replace(longer, journal=replace(longer.journal, lease_seconds=LEASE * 3))
    watch = LeaseWatch()
    assert outlast(lambda: longer, longer, now, LEASE, watch) is None  # one of our leases: not yet
    assert outlast(lambda: longer, longer, now, LEASE, watch) is None
    assert outlast(lambda: longer, longer, now, LEASE, watch) is not None  # three, counted since it was first seen


def test_a_released_lease_is_resumed_at_once_whatever_the_clocks() -> None:
    released = state_with(now() + timedelta(seconds=30), owner=RELEASED)
    lapsed = outlast(lambda: pytest.fail("no read needed"), released, now, LEASE)
    assert lapsed is not None and lapsed.journal is not None and not lapsed.journal.lease_live(now())


def test_fence_never_waits_on_a_renewal_in_flight_and_stops_once_the_lease_lapses_unrenewed() -> None:
    store, state = stored(state_with(now() + timedelta(seconds=LEASE), owner="me"))
    with LeaseKeeper(store, state, now, timedelta(seconds=LEASE), renew_every=LEASE / 5) as keeper:
        keeper.fence("first write")
        store.hold.clear()  # the state store hangs: the renewal in flight holds the commit lock
        hung, answered = threading.Event(), threading.Event()

        def renew() -> None:
            keeper.record("step")
            hung.set()

        def write() -> None:
            keeper.fence("second write")
            answered.set()

        threading.Thread(target=renew, daemon=True).start()
        threading.Thread(target=write, daemon=True).start()
        assert answered.wait(LEASE / 3), "fence waited behind the commit holding the network call"
        assert not hung.is_set()
        lapsed = threading.Event()
        while not lapsed.is_set():
            try:
                keeper.fence("a later write")
            except StateConflict as err:
                assert "lapsed" in str(err)
                lapsed.set()
        store.hold.set()


def test_every_keeper_write_renews_the_lease_and_records_its_length() -> None:
    store, state = stored(state_with(now() + timedelta(seconds=LEASE), owner="me"))
    assert state.journal is not None
    before = state.journal.lease_until
    with LeaseKeeper(store, state, now, timedelta(seconds=LEASE), renew_every=LEASE / 5) as keeper:
        keeper.record("detach fw-a-untrust")
        journal = keeper.state.journal
        assert journal is not None and journal.lease_until > before and journal.lease_seconds == LEASE
        keeper.release()
    released = store.current("hub-fw")
    assert released is not None and released.journal is not None and released.journal.lease_owner == RELEASED


@pytest.mark.parametrize(("tuning", "fragment"), [
    ({"renew_every_seconds": 1.5}, "cannot keep a 2.5 s lease"),
    ({"store_timeout_seconds": 2.0}, "does not land within the 2.5 s lease"),
    ({"lease_seconds": 0}, "must all be greater than 0"),
])
def test_lease_timings_that_cannot_keep_a_lease_are_a_configuration_error(tuning: dict[str, float], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        Tuning(**tuning)  # type: ignore[arg-type]
    assert Tuning().store_timeout == 1.0 and Tuning(lease_seconds=30, renew_every_seconds=6).store_timeout == 12.0


def test_lease_path_calls_carry_their_bound_and_no_retry() -> None:
    calls: list[dict[str, Any]] = []

    class Table:
        def get_entity(self, *args: Any, **kwargs: Any) -> Any:
            calls.append(kwargs)
            from azure.core.exceptions import ResourceNotFoundError
            raise ResourceNotFoundError("none")

    store = TableStateStore(Table())  # type: ignore[arg-type]
    store._ready = True
    assert store.bounded(1.0).load("hub-fw") is None and store.load("hub-fw") is None
    assert calls == [{"connection_timeout": 1.0, "read_timeout": 1.0, "timeout": 1.0, "retry_total": 0}, {}]


def test_a_holder_whose_store_cannot_confirm_its_lease_in_time_writes_nothing() -> None:
    from shared.errors import StateUnavailable

    store, state = stored(state_with(now() + timedelta(seconds=LEASE), owner="me"))
    store.failure = StateUnavailable("save hub-fw: state table unreachable: timed out")
    with LeaseKeeper(store, state, now, timedelta(seconds=LEASE), renew_every=LEASE / 5) as keeper, \
            pytest.raises(StateConflict, match="lease not confirmed by the state store in time"):
        keeper.fence("first write")
