"""The bad day's decisions carried out by the engine against in-memory fakes (contract §6 "Never stuck"): a change in
flight given up for health, an unclaimed hand-off carried out, a cluster first seen placed from Azure; in milliseconds."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from shared.control.executor import UNCLAIMED, dispatched
from shared.domain.policy import initial_state, start
from tests.fakes import down
from tests.integration.rig import EventLog
from tests.unit.orchestration import CLUSTER, FAILOVER, NAME, Fakes, fail_active


def test_a_repair_toward_an_nva_that_dies_is_abandoned_and_traffic_goes_to_the_standby(fakes: Fakes, events: EventLog) -> None:
    timer = fakes.engine("timer")
    stuck = start(fakes.state(), "repair", "fw-a", "auto", "drift repair", fakes.clock.now() - timedelta(seconds=30), "gone",
                  timedelta(seconds=1))
    assert stuck.journal is not None
    fakes.store.save(replace(stuck, journal=replace(stuck.journal, lease_owner="RELEASED", failures=4)))
    fakes.prober.then({"fw-a": down()}, {"fw-a": down()})
    outcome = timer.probe_cycle()  # fw-a's latest probe failed: no target for anything that moves traffic, failed or not
    assert [(e["to"], e["kind"]) for e in events.named("FailoverAbandoned")] == [("fw-a", "repair")], outcome
    assert "not healthy now" in events.named("FailoverAbandoned")[0]["reason"]
    assert fakes.network.writes == [] and fakes.state().journal is None
    timer.probe_cycle()  # its threshold: failed over
    assert fakes.written() == FAILOVER and fakes.placed_on("fw-b")
    assert (fakes.state().active, fakes.state().journal) == ("fw-b", None)


def test_a_handed_off_change_no_executor_claims_is_carried_out_by_the_next_run(fakes: Fakes, events: EventLog) -> None:
    timer = fakes.engine("timer", queued=True)
    fail_active(fakes, timer)
    journal = fakes.state().journal
    assert journal is not None and dispatched(journal.lease_owner) and fakes.network.writes == []
    fakes.clock.advance(2.6)  # one period later: nobody claimed it (the executor is disabled)
    fakes.prober.then({"fw-a": down()})
    timer.probe_cycle()
    assert fakes.written() == FAILOVER and fakes.placed_on("fw-b")
    assert [e["error"] for e in events.named("DispatchFailed")] == [UNCLAIMED]
    assert len(fakes.dispatcher.sent) == 1, "not handed to the queue nobody reads again"


def test_a_cluster_first_seen_is_placed_where_azure_has_it_and_nothing_is_written(fakes: Fakes, events: EventLog) -> None:
    timer = fakes.engine("timer")
    fail_active(fakes, timer)  # traffic is on fw-b now
    assert fakes.placed_on("fw-b")
    fakes.store.forget(NAME)  # the state table was deleted: the cluster is first seen again
    writes = len(fakes.network.writes)
    fakes.prober.then({"fw-a": down()}, {"fw-a": down()})
    timer.probe_cycle()
    timer.probe_cycle()
    assert fakes.state().active == "fw-b" and len(fakes.network.writes) == writes, "no move back toward the failed fw-a"
    assert [e["active"] for e in events.named("ClusterPlaced")] == ["fw-b"]


def test_while_paused_nothing_starts_and_force_still_works(fakes: Fakes, events: EventLog) -> None:
    timer = fakes.engine("timer")
    timer.set_paused(NAME, True, "change freeze")
    fail_active(fakes, timer)
    assert fakes.network.writes == [] and fakes.state().journal is None
    assert timer.status(NAME)["pausedReason"] == "change freeze"
    assert initial_state(CLUSTER).unplaced, "a state created fresh is placed from Azure first"
