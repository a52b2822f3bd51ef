"""The queue-triggered executor: the timer and the HTTP API lock a change and hand it here, so no cluster waits for another."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from shared.domain.config import Cluster
from shared.domain.journal_rules import review
from shared.domain.messages import TOKEN_PREFIX, Dispatch, Dispatcher
from shared.domain.state import ClusterState, StateStore
from shared.errors import EngineError, RequestError, StateConflict
from shared.events import emit


class Timings(Protocol):
    @property
    def flag_write_attempts(self) -> int: ...

    @property
    def manual_wait_seconds(self) -> float: ...

    @property
    def lease_seconds(self) -> float: ...


class Engine(Protocol):
    """What the executor needs of shared.edge.engine.Engine (named here, so the two modules do not import each other)."""

    store: StateStore
    clock: Callable[[], datetime]
    dispatcher: Dispatcher | None
    actor: str
    _lease: timedelta

    @property
    def tuning(self) -> Timings: ...

    def cluster(self, name: str) -> Cluster: ...

    def _load(self, cluster: Cluster, create: bool = True) -> ClusterState: ...

    def _outlast(self, cluster: Cluster, state: ClusterState) -> ClusterState | None: ...

    def _reconcile(self, cluster: Cluster, state: ClusterState, healthy: list[str] | None = None,
                   repair: bool = True) -> tuple[ClusterState, str]: ...

    def _execute(self, cluster: Cluster, state: ClusterState, resumed: bool) -> tuple[ClusterState, list[dict[str, Any]]]: ...

_log = logging.getLogger("nva_failover.executor")
HISTORY_GRACE_SECONDS = 5.0  # the history row is written just after the state that completes a failover


def new_token() -> str:
    """The lease owner of a change that waits on the queue: nobody renews it, so a lost message lapses within a lease."""
    return TOKEN_PREFIX + uuid.uuid4().hex


def dispatched(owner: str) -> bool:
    return owner.startswith(TOKEN_PREFIX)


def with_owner(state: ClusterState, owner: str, until: Any) -> ClusterState:
    assert state.journal is not None
    return replace(state, journal=replace(state.journal, lease_owner=owner, lease_until=until))


def hand_off(engine: Engine, cluster: Cluster, state: ClusterState,
             resumed: bool) -> tuple[ClusterState, list[dict[str, Any]] | None]:
    """Send a locked change to the executor. When the queue cannot take it, carry it out here instead (the lock is
    already ours): answers the final state and the changes then, or the locked state and None once it is queued."""
    journal = state.journal
    assert engine.dispatcher is not None and journal is not None
    message = Dispatch(cluster.name, journal.kind, journal.epoch, journal.lease_owner, resumed)
    try:
        engine.dispatcher.dispatch(message)
    except EngineError as err:
        return run_here(engine, cluster, state, resumed, f"could not queue it: {err}")
    emit("ChangeDispatched", cluster.name, epoch=journal.epoch, to=journal.to_nva, kind=journal.kind, token=journal.lease_owner)
    return state, None


def run_here(engine: Engine, cluster: Cluster, state: ClusterState, resumed: bool,
             why: str) -> tuple[ClusterState, list[dict[str, Any]] | None]:
    """Carry a locked change out in this run instead of the executor (DispatchFailed says why): the lock is ours."""
    journal = state.journal
    assert journal is not None
    _log.warning("the %s of %s runs here: %s", journal.kind, cluster.name, why)
    emit("DispatchFailed", cluster.name, epoch=journal.epoch, to=journal.to_nva, kind=journal.kind, error=why[:1000])
    try:
        mine = engine.store.save(with_owner(state, claim_owner(engine), engine.clock() + engine._lease))
    except StateConflict:
        return engine._load(cluster), None  # another actor moved first: the change is theirs
    return engine._execute(cluster, mine, resumed)


def unclaimed(before: ClusterState) -> bool:
    """A change handed to the queue whose lease lapsed with no executor claiming it (its owner is still the token): the
    executor is disabled, not starting, or listening on another queue. The next run carries it out itself."""
    return before.journal is not None and dispatched(before.journal.lease_owner)


UNCLAIMED = "no executor claimed it within one schedule period (the executor disabled, not starting, or its queue elsewhere)"


def hand_off_reconcile(engine: Engine, cluster: Cluster, state: ClusterState) -> tuple[ClusterState, str]:
    """The reconcile's reads (and any repair) run in the executor too; a lost message only skips one reconcile."""
    assert engine.dispatcher is not None
    try:
        engine.dispatcher.dispatch(Dispatch(cluster.name, "reconcile", state.epoch, ""))
    except EngineError as err:
        _log.warning("could not queue the reconcile of %s, running it here: %s", cluster.name, err)
        return engine._reconcile(cluster, state)
    return state, "reconcile queued"


def claim_owner(engine: Engine) -> str:
    """Unique per execution: the timer, the API and executors of one process share the engine (and its actor)."""
    return f"{engine.actor}/{uuid.uuid4().hex[:8]}"


def execute(engine: Engine, name: str, message: Dispatch) -> str:
    """One queued change: claim its journal if the lease is the message's or has lapsed, then carry it out. Never raises:
    whatever fails is an event, the journal's lease lapses and the next timer run dispatches the change again."""
    executing = False
    try:
        cluster = engine.cluster(name)
        if message.kind == "reconcile":
            state = engine._load(cluster)
            if state.journal is not None:
                return "a change is in flight: no reconcile now"
            return engine._reconcile(cluster, state)[1]
        for _ in range(engine.tuning.flag_write_attempts):
            state = engine._load(cluster)
            journal = state.journal
            if journal is None or (journal.kind, journal.epoch) != (message.kind, message.epoch):
                return "nothing to do: the change is done or was superseded"
            given_up = review(state, cluster, engine.clock())
            if given_up is not None:  # health outranks the change: the next timer run abandons it and decides afresh
                return f"stood down: the change is to be given up: {given_up}"
            if journal.lease_owner != message.token and (not dispatched(journal.lease_owner) or journal.lease_live(engine.clock())):
                # another executor's lease, watched whatever its timestamps say (clocks differ), or a newer dispatch's
                lapsed = engine._outlast(cluster, state)
                if lapsed is None:
                    return "stood down: another actor holds the change"
                state = lapsed
            try:
                locked = engine.store.save(with_owner(state, claim_owner(engine), engine.clock() + engine._lease))
            except StateConflict:
                continue  # a health record, a pause or another executor wrote in between: look again
            executing = True
            resumed = message.resumed or journal.lease_owner != message.token or bool(journal.steps)
            engine._execute(cluster, locked, resumed)
            return f"{journal.kind} to {journal.to_nva} done"
        return "stood down: the state kept changing"
    except StateConflict as err:
        return f"stood down: {err}"
    except RequestError as err:
        _log.warning("queued change for %s dropped: %s", name, err.message)
        return f"dropped: {err.message}"
    except Exception as err:  # the one catch of an executor run
        if not (executing and isinstance(err, EngineError)):  # _execute has raised FailoverFailed for its own failures
            emit("RunFailed", name, error=(str(err) or type(err).__name__)[:1000], kind=type(err).__name__, trigger="queue")
            _log.exception("queued change for %s failed", name)
        return f"failed: {err}"


def await_change(engine: Engine, cluster: Cluster, locked: ClusterState, resumed: bool) -> dict[str, Any] | None:
    """A manual failover: queue it, then wait up to the manual wait for the executor to finish. Answers the changes made,
    or None when it is still running at the limit. RequestError 503 when it failed (the next timer run resumes it)."""
    journal = locked.journal
    assert journal is not None
    final, changes = hand_off(engine, cluster, locked, resumed)
    if changes is not None:
        return {"epoch": final.epoch, "changes": changes}
    deadline = time.monotonic() + engine.tuning.manual_wait_seconds
    poll = max(0.05, engine.tuning.lease_seconds / 10)
    while time.monotonic() < deadline:
        time.sleep(min(poll, max(0.0, deadline - time.monotonic())))
        fresh = engine.store.load(cluster.name)
        now_journal = fresh.journal if fresh else None
        if now_journal is None or (now_journal.kind, now_journal.epoch) != (journal.kind, journal.epoch):
            record = fresh.last_failover if fresh else None
            if record is None or record.epoch < journal.epoch:  # the journal was dropped, not completed
                raise RequestError(409, "FailoverBlocked", f"the {journal.kind} of {cluster.name!r} to {journal.to_nva} was not "
                                   "carried out (see the FailoverBlocked event)")
            row = _recorded(engine, cluster.name, journal.epoch, deadline)
            return {"epoch": journal.epoch, "changes": list(row.get("changes", [])), "skipped": list(row.get("skipped", []))}
        if not now_journal.lease_live(engine.clock()) and not dispatched(now_journal.lease_owner):
            raise RequestError(503, "FailoverFailed", f"the {journal.kind} of {cluster.name!r} to {journal.to_nva} failed "
                               f"(see FailoverFailed); the next timer run resumes it")
    return None


def _recorded(engine: Engine, cluster: str, epoch: int, deadline: float) -> dict[str, Any]:
    """The history row of a completed failover (its changes and skipped writes), {} when it does not appear in time."""
    until = min(deadline, time.monotonic() + HISTORY_GRACE_SECONDS)
    while True:
        for record in engine.store.history(cluster, limit=5):
            if record.get("epoch") == epoch:
                return record
        if time.monotonic() >= until:
            return {}
        time.sleep(0.1)


def accepted_json(cluster: str, epoch: int, from_nva: str, to: str) -> dict[str, Any]:
    """The answer to a manual failover still running at the limit: where to find its outcome."""
    return {"cluster": cluster, "epoch": epoch, "from": from_nva, "to": to, "status": "running",
            "statusUrl": f"/api/clusters/{cluster}", "historyUrl": f"/api/clusters/{cluster}/history"}
