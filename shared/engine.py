"""Runs the product: probe cycles, failovers, drift repair, status, pause. Side effects live here and in the adapters."""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from . import executor
from .assess import Assessor, abandon, placement_ok, with_check
from .azure_network import NetworkActions
from .config import Cluster, Config
from .desired import AzureView, Change, desired, plan_changes
from .dispatch import Dispatch, Dispatcher
from .errors import EngineError, PermanentError, RequestError, StateConflict, StateUnavailable, WriteNotPermitted
from .events import emit
from .floating import carried_configs
from .history import WriteClock
from .lease import LeaseKeeper, outlast
from .policy import Event, ManualRequest, decide, decide_manual, initial_state, start
from .probes import Prober
from .state import ClusterState, FailoverRecord, Journal, StateStore, Timeline
from .views import failover_json, status_json

_log = logging.getLogger("nva_failover.engine")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Tuning:
    """Engine timing: how long a lease holds, how often it is renewed, how many times a flag write is retried."""

    lease_seconds: float = 2.5  # half the default schedule's 5 s period (shared.schedule.lease_seconds)
    renew_every_seconds: float = 0.5
    flag_write_attempts: int = 5
    manual_wait_seconds: float = 200.0  # a queued manual failover answers 202 after this (Azure cuts HTTP at 230 s)


def default_actor() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Engine:
    """One per configuration. Every public method is one run: it catches once, at the top, with a failure event."""

    def __init__(self, config: Config, store: StateStore, prober: Prober, network: NetworkActions,
                 clock: Callable[[], datetime] = utc_now, actor: str | None = None, tuning: Tuning | None = None,
                 dispatcher: Dispatcher | None = None, assessor: Assessor | None = None) -> None:
        self.config = config
        self.store = store
        self.prober = prober
        self.network = network
        self.clock = clock
        self.actor = actor or default_actor()
        self.tuning = tuning or Tuning()
        self._lease = timedelta(seconds=self.tuning.lease_seconds)
        self.dispatcher = dispatcher  # None: changes run inside the run that locked them
        self.assessor = assessor or Assessor(network, None)

    # ================================================================= the timer
    def probe_cycle(self) -> dict[str, str]:
        """Probe every cluster (in parallel) and act; answers each cluster's outcome."""
        clusters = self.config.clusters
        with ThreadPoolExecutor(max_workers=max(1, len(clusters)), thread_name_prefix="cluster") as pool:
            outcomes = list(pool.map(self._cycle_guarded, clusters))
        return {c.name: o for c, o in zip(clusters, outcomes, strict=True)}

    def _cycle_guarded(self, cluster: Cluster) -> str:
        started = time.monotonic()
        active, healthy, outcome = "?", [], "failed"
        try:
            state, outcome = self._cycle(cluster)
            active = state.active
            healthy = [n for n in cluster.names() if state.nva_health(n).healthy is True]
        except Exception as err:  # the one catch of a timer run: every failure becomes an event
            outcome = f"failed: {err}"
            emit("RunFailed", cluster.name, error=_text(err), kind=type(err).__name__)
            _log.exception("probe cycle of %s failed", cluster.name)
        emit("ProbeCycle", cluster.name, active=active, healthy=healthy, durationMs=_ms(started), outcome=outcome)
        return outcome

    def _cycle(self, cluster: Cluster) -> tuple[ClusterState, str]:
        state = self._load(cluster)
        results = self.prober.probe_all(cluster.nvas, cluster.policy.probe_timeout_seconds)
        owner = executor.new_token() if self.dispatcher else self.actor  # a change this run locks is the executor's
        plan = decide(results, state, cluster, self.clock(), owner, self._lease)
        if plan.action != "reconcile":
            self.assessor.warm(cluster)  # a new process reads its permissions in the background; later, a no-op
        if not plan.record and state.journal is not None and not executor.dispatched(state.journal.lease_owner):
            lapsed = self._outlast(cluster, state)  # a crashed actor's change is resumed by this run, not a later one
            if lapsed is None:
                return state, plan.reason
            state = lapsed
            plan = decide(results, state, cluster, self.clock(), owner, self._lease)
        if not plan.record:
            return state, plan.reason
        try:
            state = self.store.save(plan.state)
        except StateConflict:
            return self._load(cluster), "stood down: another actor recorded this cycle"
        self._emit(cluster, plan.events)
        healthy = [n for n, r in results.items() if r.ok]
        try:
            if plan.action in {"failover", "resume"} and self.dispatcher:
                return executor.hand_off(self, cluster, state, resumed=plan.action == "resume")[0], plan.reason
            if plan.action in {"failover", "resume"}:
                return self._execute(cluster, state, resumed=plan.action == "resume")[0], plan.reason
            if plan.action == "reconcile":
                return executor.hand_off_reconcile(self, cluster, state) if self.dispatcher else self._reconcile(cluster, state, healthy)
        except WriteNotPermitted as err:
            return self._load(cluster), f"blocked: {err}"
        return state, plan.reason

    def _outlast(self, cluster: Cluster, state: ClusterState) -> ClusterState | None:
        """Watch another actor's live lease (lease.outlast): the state once it lapsed unrenewed, None if its actor lives."""
        return outlast(lambda: self.store.load(cluster.name), state, self.clock, self.tuning.lease_seconds)

    def _reconcile(self, cluster: Cluster, state: ClusterState, healthy: list[str] | None = None) -> tuple[ClusterState, str]:
        """Read Azure back and assess readiness; when Azure differs from the recorded active, take the lock and repair it.
        `healthy`: the NVAs whose probe answered in this run (default: those recorded healthy)."""
        if healthy is None:
            healthy = [n for n in cluster.names() if state.nva_health(n).healthy is True]
        survey = self.assessor.survey(cluster)
        roles = {n: (h.role, h.role_detail or "") for n, h in state.health.items() if h.role}
        readiness = self.assessor.assess(cluster, state.active, healthy, self.clock(), survey, roles=roles)
        try:
            view, missing, failure = survey
            if failure is not None or missing:
                raise PermanentError(failure or f"not found in Azure: {', '.join(missing)}")
            if not plan_changes(cluster, state.active, view):
                return state, "reconciled: no drift"
            repair = start(state, "repair", state.active, "auto", "drift repair", self.clock(), self.actor, self._lease)
            try:
                locked = self.store.save(repair)
            except StateConflict:
                return self._load(cluster), "stood down: another actor took the lock"
            repaired = self._execute(cluster, locked, resumed=False, view=view)[0]
            readiness = with_check(readiness, placement_ok(state.active))
            return repaired, "drift repaired"
        finally:
            self.assessor.record(self.store, cluster.name, readiness)

    def check(self, name: str) -> dict[str, Any]:
        """Readiness computed now (contract `check`): reads Azure and probes; writes nothing but the readiness record."""
        cluster = self.cluster(name)
        state_error = None
        try:
            state = self._load(cluster)
        except StateUnavailable as err:
            state, state_error = initial_state(cluster), str(err)
        results = self.prober.probe_all(cluster.nvas, cluster.policy.probe_timeout_seconds)
        healthy = [n for n, r in results.items() if r.ok]
        roles = {n: (r.role.role, r.role.detail) for n, r in results.items() if r.role}
        readiness = self.assessor.assess(cluster, state.active, healthy, self.clock(), self.assessor.survey(cluster), state_error,
                                         roles=roles)
        if state_error is None:
            readiness = self.assessor.record(self.store, cluster.name, readiness)[0]
        return readiness.as_json(cluster.name)

    # ================================================================= executing a change
    def _execute(self, cluster: Cluster, state: ClusterState, resumed: bool,
                 view: AzureView | None = None) -> tuple[ClusterState, list[dict[str, Any]]]:
        """Carry the journal's change out under its lease: read, write, verify, record. Resumable at any point."""
        journal = state.journal
        assert journal is not None
        if journal.kind == "failover":
            emit("FailoverResumed" if resumed else "FailoverStarted", cluster.name, epoch=journal.epoch, to=journal.to_nva,
                 trigger=journal.trigger, reason=journal.reason, **{"from": journal.from_nva},
                 **({"stepsDone": list(journal.steps)} if resumed else {}))
        step = "read"
        applied: list[Change] = []
        timer = WriteClock(self.clock)
        failure: Exception | None = None
        blocked: WriteNotPermitted | None = None
        with LeaseKeeper(self.store, state, self.clock, self._lease, self.tuning.renew_every_seconds) as keeper:
            def done(c: Change) -> None:
                timer.completed(c)
                keeper.record(f"{c.action} {c.resource}")

            try:
                view = view or self.network.read(cluster)
                carried = self._carry(cluster, keeper, view)
                want = desired(cluster, journal.to_nva, view, carried)
                changes = plan_changes(cluster, journal.to_nva, view, carried)
                if journal.kind == "repair":
                    for c in changes:
                        emit("DriftDetected", cluster.name, resource=c.resource, expected=dict(c.after), found=dict(c.before))
                step = "gate"
                self._gate(journal, changes)
                step = "write"
                applied = self.network.apply(changes, want, timer.fenced(keeper.fence), done)
                step = "verify"
                left = plan_changes(cluster, journal.to_nva, self.network.read(cluster), carried)
                if left:
                    raise EngineError(f"verify: still different after the writes: {', '.join(c.resource for c in left)}")
                step = "complete"
                keeper.fence("complete")
            except StateConflict as err:
                _log.warning("%s of %s stood down: %s", journal.kind, cluster.name, err)
                raise
            except WriteNotPermitted as err:
                blocked = err
            except Exception as err:
                failure = err
        if blocked is not None:
            emit("FailoverBlocked", cluster.name, to=journal.to_nva, trigger=journal.trigger, missing=blocked.missing,
                 kind=journal.kind, epoch=journal.epoch)
            if journal.steps:
                keeper.release()  # writes were made before: keep the journal, so the next run resumes it
            else:
                keeper.commit(abandon)
            raise blocked
        if failure is not None:
            emit("FailoverFailed", cluster.name, epoch=journal.epoch, to=journal.to_nva, step=step, error=_text(failure),
                 kind=journal.kind)
            keeper.release()
            raise failure
        return self._complete(cluster, keeper, applied, Timeline(journal.detected_at, timer.writes())), \
            [c.describe() for c in applied]

    def _gate(self, journal: Journal, changes: list[Change]) -> None:
        """Before the first write: stop when a needed write is known not to be permitted (a forced failover goes ahead)."""
        if journal.force:
            return
        missing = self.assessor.gate(changes)
        if missing:
            raise WriteNotPermitted(journal.to_nva, [n.text() for n in missing])

    @staticmethod
    def _carry(cluster: Cluster, keeper: LeaseKeeper, view: AzureView) -> dict[str, Any]:
        """Record the floating IP configurations in the journal before any write removes one, so a run resuming after
        a crash between the removal and the addition still adds them with their public IP, ASGs and pools."""
        journal = keeper.state.journal
        assert journal is not None
        carried = {**journal.carried, **carried_configs(cluster, view.nics)}
        if carried != dict(journal.carried):
            keeper.commit(lambda s: replace(s, journal=replace(s.journal, carried=carried)) if s.journal else s)
        return carried

    def _complete(self, cluster: Cluster, keeper: LeaseKeeper, applied: list[Change], timeline: Timeline) -> ClusterState:
        journal = keeper.state.journal
        assert journal is not None
        now = self.clock()
        changes = [c.describe() for c in applied]
        record = None
        if journal.kind == "failover":
            record = FailoverRecord(journal.epoch, journal.from_nva, journal.to_nva, journal.trigger, journal.reason,
                                    journal.started_at, now, int((now - journal.started_at).total_seconds() * 1000))

        def done(state: ClusterState) -> ClusterState:
            finished = replace(state, phase="steady", active=journal.to_nva, journal=None)
            return replace(finished, last_failover=record, last_failover_at=now) if record else finished

        saved = keeper.commit(done)
        if record is not None:
            self.store.append_history(cluster.name, record, changes, timeline)
            emit("FailoverCompleted", cluster.name, epoch=record.epoch, to=record.to_nva, trigger=record.trigger,
                 durationMs=record.duration_ms, changes=changes, **{"from": record.from_nva})
        else:
            for c in applied:
                emit("DriftCorrected", cluster.name, resource=c.resource, expected=dict(c.after), found=dict(c.before))
        return saved

    # ================================================================= operators
    def cluster(self, name: str) -> Cluster:
        try:
            return self.config.cluster(name)
        except KeyError:
            raise RequestError(404, "ClusterNotFound", f"no cluster named {name!r}") from None

    def status(self, name: str) -> dict[str, Any]:
        cluster = self.cluster(name)
        return status_json(cluster, self._load(cluster, create=False))

    def statuses(self) -> list[dict[str, Any]]:
        return [self.status(c.name) for c in self.config.clusters]

    def failover(self, name: str, request: ManualRequest) -> dict[str, Any]:
        started = time.monotonic()
        cluster = self.cluster(name)
        for _ in range(self.tuning.flag_write_attempts):
            state = self._load(cluster)
            plan = decide_manual(state, cluster, request, self.clock(), self.actor, self._lease)
            to = plan.target
            assert to is not None
            journal = plan.state.journal
            assert journal is not None
            if request.dry_run:
                planned = [c.describe() for c in plan_changes(cluster, to, self.network.read(cluster))]
                emit("FailoverPlanned", cluster.name, epoch=journal.epoch, to=to, changes=planned, **{"from": state.active})
                return failover_json(cluster.name, journal.epoch, state.active, to, True, _ms(started), planned)
            queued = self.dispatcher is not None and journal.kind == "failover"  # a repair answers its changes: it runs here
            try:
                locked = self.store.save(executor.with_owner(plan.state, executor.new_token(), journal.lease_until)
                                         if queued else plan.state)
                break
            except StateConflict:
                continue  # a probe cycle recorded health in between: re-read and decide again
        else:
            raise RequestError(409, "FailoverInProgress", f"{name!r} kept changing under this request; retry")
        try:
            if queued:
                done = executor.await_change(self, cluster, locked, resumed=plan.action == "resume")
                if done is None:
                    return executor.accepted_json(cluster.name, journal.epoch, journal.from_nva, journal.to_nva)
                return failover_json(cluster.name, done["epoch"], journal.from_nva, journal.to_nva, False, _ms(started),
                                     done["changes"])
            final, changes = self._execute(cluster, locked, resumed=plan.action == "resume")
        except WriteNotPermitted as err:
            raise RequestError(409, "FailoverBlocked", f"{name!r}: the failover to {err.to!r} needs writes the identity may not "
                               f"make, so nothing was written: {'; '.join(err.missing)}. Grant them, or set force to try anyway") from None
        except StateConflict:
            raise RequestError(409, "FailoverInProgress", f"another actor took over the change of {name!r}") from None
        except (StateUnavailable, RequestError):
            raise
        except EngineError as err:
            raise RequestError(503, "FailoverFailed", f"{err}; the next timer run resumes it") from None
        return failover_json(cluster.name, final.epoch, journal.from_nva, journal.to_nva, False, _ms(started), changes)

    def execute(self, name: str, message: Dispatch) -> str:
        """The queue trigger's run: carry out a change the timer or the API locked and queued (shared.executor)."""
        return executor.execute(self, name, message)

    def set_paused(self, name: str, paused: bool, reason: str | None) -> dict[str, Any]:
        cluster = self.cluster(name)
        for _ in range(self.tuning.flag_write_attempts):
            state = self._load(cluster)
            try:
                saved = self.store.save(replace(state, paused=paused, paused_reason=(reason or "paused by an operator") if paused else None))
            except StateConflict:
                continue  # a probe cycle wrote in between: re-read and flip the flag again
            emit("ClusterPaused" if paused else "ClusterResumed", cluster.name, reason=reason or "")
            return status_json(cluster, saved)
        raise RequestError(409, "FailoverInProgress", f"{name!r} kept changing; retry")

    # ================================================================= helpers
    def _load(self, cluster: Cluster, create: bool = True) -> ClusterState:
        state = self.store.load(cluster.name)
        if state is not None:
            return state
        fresh = initial_state(cluster)
        if not create:
            return fresh
        try:
            return self.store.create(fresh)
        except StateConflict:
            loaded = self.store.load(cluster.name)
            if loaded is None:
                raise
            return loaded

    def _emit(self, cluster: Cluster, events: Sequence[Event]) -> None:
        for event in events:
            emit(event.name, cluster.name, **dict(event.fields))


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _text(err: BaseException) -> str:
    return (str(err) or type(err).__name__)[:1000]
