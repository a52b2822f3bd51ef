"""The orchestration against in-memory fakes (tests/fakes.py): hand-off, the queue down, a lost lease, a takeover after a
lapse, a stale message and a manual wait, each in milliseconds. Time is a manual clock: leases are measured on it."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest

from shared.control.executor import accepted_json, dispatched
from shared.domain.messages import Dispatch
from shared.domain.policy import ManualRequest, start
from shared.edge.api import handle
from shared.errors import RequestError, StateUnavailable, TransientError
from tests.fakes import Write, down
from tests.integration.rig import EventLog
from tests.unit.orchestration import FAILOVER, HUB, NAME, TUNING, Crash, Fakes, fail_active


def test_the_timer_locks_a_failover_and_hands_it_off_and_the_executor_carries_it_out(fakes: Fakes, events: EventLog) -> None:
    timer = fakes.engine("timer", queued=True)
    assert fail_active(fakes, timer) == {NAME: "fw-a failed: connection refused"}
    journal = fakes.state().journal
    assert journal is not None and (journal.kind, journal.epoch, journal.to_nva) == ("failover", 1, "fw-b")
    assert dispatched(journal.lease_owner)  # the lock is the queued message's token
    assert fakes.dispatcher.sent == [Dispatch(NAME, "failover", 1, journal.lease_owner)]
    assert fakes.network.writes == []  # the timer wrote nothing in Azure
    assert [e["token"] for e in events.named("ChangeDispatched")] == [journal.lease_owner]
    assert events.named("FailoverStarted") == []

    seen = fakes.clock.monotonic()
    assert fakes.engine("executor", queued=True).execute(NAME, fakes.dispatcher.sent[0]) == "failover to fw-b done"
    assert fakes.clock.monotonic() == seen  # the token is the lock: claimed at once, no lease watched
    assert fakes.written() == FAILOVER and len(fakes.network.writes) == len(FAILOVER)
    assert fakes.placed_on("fw-b")
    final = fakes.state()
    assert (final.active, final.phase, final.journal, final.epoch) == ("fw-b", "steady", None, 1)
    assert [(e["epoch"], e["to"]) for e in events.named("FailoverStarted")] == [(1, "fw-b")]
    assert [e["epoch"] for e in events.named("FailoverCompleted")] == [1]
    assert [(r["epoch"], len(r["changes"])) for r in fakes.store.history(NAME)] == [(1, len(FAILOVER))]


def test_when_the_queue_is_down_the_run_that_locked_the_change_carries_it_out(fakes: Fakes, events: EventLog) -> None:
    fakes.dispatcher.failure = TransientError("queue nva-ha-changes: connection refused")
    timer = fakes.engine("timer", queued=True)
    assert fail_active(fakes, timer) == {NAME: "fw-a failed: connection refused"}
    assert fakes.dispatcher.sent == []
    assert [(e["epoch"], e["to"]) for e in events.named("DispatchFailed")] == [(1, "fw-b")]
    assert "connection refused" in events.named("DispatchFailed")[0]["error"]
    claimed = [s.journal.lease_owner for s in fakes.store.saved if s.journal is not None]
    assert claimed[0].startswith("queued:") and any(o.startswith("timer/") for o in claimed)  # the run took the lock over
    assert fakes.written() == FAILOVER and fakes.placed_on("fw-b")
    assert (fakes.state().active, fakes.state().journal) == ("fw-b", None)
    assert [e["epoch"] for e in events.named("FailoverCompleted")] == [1]


def test_a_holder_whose_renewal_conflicts_stops_writing(fakes: Fakes, events: EventLog) -> None:
    """Another actor took the journal over after the holder's first write: the renewal that records that write conflicts,
    and the fence stops every later write."""
    def take_over(write: Write) -> None:
        state = fakes.state()
        if len(fakes.network.writes) == 1 and state.journal is not None:
            fakes.store.save(replace(state, journal=replace(state.journal, lease_owner="intruder",
                                                            lease_until=fakes.clock.now() + timedelta(seconds=30))))

    fakes.network.after_write = take_over
    with pytest.raises(RequestError) as refused:
        fakes.engine("holder").failover(NAME, ManualRequest(target="fw-b"))
    assert (refused.value.status, refused.value.code) == (409, "FailoverInProgress")
    assert len(fakes.network.writes) == 1  # the first write only: fenced after that
    taken = fakes.state()
    assert taken.journal is not None and taken.journal.lease_owner == "intruder"
    assert fakes.store.saved[-1] == taken  # and no state write of the holder's after it lost the lease
    assert events.named("FailoverCompleted") == [] and events.named("FailoverFailed") == []


def test_a_holder_whose_store_stops_answering_stops_writing_once_its_lease_lapses_on_its_own_clock(fakes: Fakes) -> None:
    def store_down(write: Write) -> None:
        fakes.store.failure = StateUnavailable("save hub-fw: state table unreachable")
        fakes.clock.advance(TUNING.lease_seconds)

    fakes.network.after_write = store_down
    with pytest.raises(RequestError):
        fakes.engine("holder").failover(NAME, ManualRequest(target="fw-b"))
    assert len(fakes.network.writes) == 1


def test_a_change_whose_holder_died_is_resumed_by_another_actor_after_one_lease_of_local_observation(
        fakes: Fakes, events: EventLog) -> None:
    """The dead holder's clock was 10 s behind: its lease looks long lapsed, yet the survivor waits a lease of its own
    time from when it first saw the record before it writes."""
    def crash(write: Write) -> None:
        raise Crash

    fakes.network.after_write = crash
    with pytest.raises(Crash):
        fakes.engine("crashed", skew=-10).failover(NAME, ManualRequest(target="fw-b"))
    fakes.network.after_write = None
    left = fakes.state().journal
    assert left is not None and left.lease_owner.startswith("crashed") and not left.lease_live(fakes.clock.now())
    assert len(fakes.network.writes) == 1

    seen = fakes.clock.monotonic()
    assert fakes.engine("survivor").probe_cycle() == {NAME: "resume failover to fw-b"}
    resumed = fakes.network.writes[1:]
    assert fakes.written(resumed) == FAILOVER - fakes.written(fakes.network.writes[:1])
    assert min(w.at for w in resumed) >= seen + TUNING.lease_seconds  # never before a lease of local observation
    assert fakes.placed_on("fw-b") and (fakes.state().active, fakes.state().journal) == ("fw-b", None)
    assert [e["epoch"] for e in events.named("FailoverResumed")] == [1]
    assert [e["epoch"] for e in events.named("FailoverCompleted")] == [1]


def test_a_holder_that_keeps_renewing_is_never_taken_over_whatever_its_timestamps_say(fakes: Fakes, events: EventLog) -> None:
    behind = fakes.clock.skewed(-10)  # the holder's clock: its lease_until always looks lapsed to the watcher

    def holder_renews(_: str) -> None:
        state = fakes.state()
        if state.journal is not None and state.journal.lease_owner == "holder":
            fakes.store.save(replace(state, journal=replace(state.journal, lease_until=behind() + timedelta(seconds=2.5))))

    locked = start(fakes.state(), "failover", "fw-b", "manual", "test", behind(), "holder", timedelta(seconds=2.5))
    fakes.store.save(locked)
    fakes.store.on_load = holder_renews
    watcher = fakes.engine("watcher")
    for _ in range(3):
        watcher.probe_cycle()
        fakes.clock.advance(TUNING.lease_seconds)
    assert fakes.network.writes == []
    journal = fakes.state().journal
    assert journal is not None and journal.lease_owner == "holder"
    assert events.named("FailoverResumed") == []


def test_a_message_for_a_change_that_is_done_or_superseded_does_nothing(fakes: Fakes, events: EventLog) -> None:
    timer = fakes.engine("timer", queued=True)
    executor = fakes.engine("executor", queued=True)
    fail_active(fakes, timer)
    first = fakes.dispatcher.sent[0]
    assert executor.execute(NAME, first) == "failover to fw-b done"
    done, writes = fakes.state(), len(fakes.network.writes)

    assert executor.execute(NAME, first) == "nothing to do: the change is done or was superseded"  # delivered again
    assert fakes.state() == done and len(fakes.network.writes) == writes

    fakes.prober.then(*[{"fw-a": down()}] * 2)  # fw-a is probed healthy again, then fw-b fails: epoch 2 is queued
    for _ in range(2):
        timer.probe_cycle()
    fail_active(fakes, timer, "fw-b")
    newer = fakes.state()
    assert newer.journal is not None and fakes.dispatcher.sent[-1].epoch == newer.journal.epoch == 2
    assert executor.execute(NAME, first) == "nothing to do: the change is done or was superseded"
    assert fakes.state() == newer and len(fakes.network.writes) == writes
    assert [e["epoch"] for e in events.named("FailoverStarted")] == [1]


def test_a_manual_failover_still_queued_at_the_wait_limit_answers_202_with_where_to_look(fakes: Fakes, events: EventLog) -> None:
    api = fakes.engine("api", queued=True)
    status, answer = handle(lambda: api, "failover", NAME, b'{"target": "fw-b"}')
    assert (status, answer) == (202, accepted_json(NAME, 1, "fw-a", "fw-b"))
    assert fakes.clock.monotonic() >= TUNING.manual_wait_seconds  # it waited the manual wait (on the manual clock)
    assert fakes.network.writes == []  # no executor ran
    journal = fakes.state().journal
    assert journal is not None and fakes.dispatcher.sent == [Dispatch(NAME, "failover", 1, journal.lease_owner)]
    assert len(events.named("ChangeDispatched")) == 1 and events.named("FailoverStarted") == []


def test_a_failover_away_from_a_failed_nva_goes_on_without_a_table_it_cannot_write_and_names_it(
        fakes: Fakes, events: EventLog) -> None:
    table = HUB.listed_tables[0]
    fakes.network.fail[table.lower()] = TransientError("429 SubscriptionRequestsThrottled")
    assert fail_active(fakes, fakes.engine("timer")) == {NAME: "fw-a failed: connection refused"}
    assert fakes.written() == FAILOVER - {table.rsplit("/", 1)[-1]}
    assert fakes.state().active == "fw-b"
    skipped = [{"resource": table, "reason": "the write failed: 429 SubscriptionRequestsThrottled"}]
    assert [e["skipped"] for e in events.named("FailoverCompleted")] == [json.dumps(skipped, sort_keys=True)]
    assert fakes.store.history(NAME)[0]["skipped"] == skipped
