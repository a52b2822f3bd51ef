"""Detection time for the failover history: the first failed probe of a run, carried into the failover's journal."""

from __future__ import annotations

from datetime import timedelta

from shared.adapters.entities import from_entity, to_entity
from shared.domain.policy import ManualRequest, decide, decide_manual
from shared.domain.state import NvaHealth
from tests.unit.test_policy import BAD, LEASE, NOW, OK, UP, cluster, state


def test_the_first_failed_probe_of_a_run_is_kept_until_a_good_probe() -> None:
    c = cluster(unhealthyThreshold=3)
    s = state({"fw-a": UP, "fw-b": UP})
    times = [NOW + timedelta(seconds=5 * i) for i in range(4)]
    for i, (when, result) in enumerate(zip(times, [BAD, OK, BAD, BAD], strict=True)):
        s = decide({"fw-a": result, "fw-b": OK}, s, c, when, "me", LEASE).state
        assert s.nva_health("fw-a").failing_since == {0: times[0], 1: None, 2: times[2], 3: times[2]}[i]
    plan = decide({"fw-a": BAD, "fw-b": OK}, s, c, NOW + timedelta(seconds=20), "me", LEASE)
    assert plan.action == "failover" and plan.state.journal is not None
    assert plan.state.journal.detected_at == times[2]  # the run that failed it began with the probe at +10 s
    assert plan.state.journal.started_at == NOW + timedelta(seconds=20)
    stored = from_entity(to_entity(plan.state), "e2")  # and both survive the state table
    assert stored.journal == plan.state.journal and stored.health == plan.state.health


def test_a_manual_failover_has_no_detection_time() -> None:
    plan = decide_manual(state({"fw-a": UP, "fw-b": UP}), cluster(), ManualRequest(target="fw-b"), NOW, "me", LEASE)
    assert plan.state.journal is not None and plan.state.journal.detected_at is None


def test_a_state_stored_before_detection_times_loads() -> None:
    entity = to_entity(state({"fw-a": NvaHealth(healthy=True)}))
    entity["health"] = entity["health"].replace(', "failing_since": null', "")
    assert "failing_since" not in entity["health"]
    assert from_entity(entity, "e1").nva_health("fw-a").failing_since is None
