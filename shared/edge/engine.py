"""Runs the product: probe cycles, failovers, drift repair, status, pause. Side effects live here and in the adapters."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.control import executor
from shared.control.assess import Assessor, abandon, partial_allowed, placement_ok, with_check
from shared.control.completion import announce
from shared.control.gathered import Gathered
from shared.control.heartbeat import Heartbeat, Run, beat
from shared.control.history import WriteClock
from shared.control.lease import LeaseKeeper, LeaseWatch, lease_problems, outlast, store_timeout
from shared.control.ports import NetworkActions
from shared.domain.config import Cluster, Config
from shared.domain.desired import AzureView, Change, addresses_unread, desired, plan_changes
from shared.domain.floating import carried_configs
from shared.domain.journal_rules import healthy_now, needs_placing, place
from shared.domain.messages import Dispatch, Dispatcher
from shared.domain.observations import Prober, ProbeResult
from shared.domain.placement import Placement, placement_of, unread
from shared.domain.policy import Event, ManualRequest, Plan, decide, decide_manual, initial_state, start
from shared.domain.state import ClusterState, FailoverRecord, StateStore, Timeline
from shared.edge.views import failover_json, status_json
from shared.errors import ConfigError, EngineError, PermanentError, RequestError, StateConflict, StateUnavailable, WriteNotPermitted
from shared.events import emit

_log = logging.getLogger("nva_failover.engine")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Tuning:
    """Engine timing: how long a lease holds, how often it is renewed and how long a state-store call on the lease path
    may take (timings that cannot keep a lease are a ConfigError), how many times a flag write is retried."""

    lease_seconds: float = 2.5  # half the default schedule's 5 s period (shared.domain.schedule.lease_seconds)
    renew_every_seconds: float = 0.5
    flag_write_attempts: int = 5
    manual_wait_seconds: float = 200.0  # a queued manual failover answers 202 after this (Azure cuts HTTP at 230 s)
    store_timeout_seconds: float | None = None  # default: 0.4 of the lease (1 s of 2.5 s), one try

    def __post_init__(self) -> None:
        problems = lease_problems(self.lease_seconds, self.renew_every_seconds, self.store_timeout)
        if problems:
            raise ConfigError(problems)

    @property
    def store_timeout(self) -> float:
        return self.store_timeout_seconds if self.store_timeout_seconds is not None else store_timeout(self.lease_seconds)


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
        self._lease_watch = LeaseWatch()  # other actors' leases as this process has seen them
        self.assessor = assessor or Assessor(network, None)
        self._heartbeat = Heartbeat()  # which clusters' ProbeCycle is due (on change)
        self._preloaded = threading.local()  # a probe cycle thread's state, read by the cycle's one query

    # ================================================================= the timer
    def probe_cycle(self) -> dict[str, str]:
        """Probe every cluster (in parallel) and act; answers each cluster's outcome. Every state is read by one query
        and every NVA probed first (shared.control.gathered), then each cluster decides and acts in its own thread; the run's
        heartbeat sums the clusters up, a cluster's own ProbeCycle comes on change (shared.control.heartbeat)."""
        started = time.monotonic()
        clusters = self.config.clusters
        try:
            loaded: dict[str, ClusterState] | None = self.store.load_all()
        except StateUnavailable as err:  # each cluster reads its own state then (and fails its run if it cannot)
            _log.warning("loading every cluster's state failed: %s", err)
            loaded = None
        prober = self.prober
        gathered = Gathered(prober)
        self.prober = gathered  # every NVA is probed first, then the clusters act
        try:
            gathered.gather(clusters)
            with ThreadPoolExecutor(max_workers=max(1, len(clusters)), thread_name_prefix="cluster") as pool:
                runs = list(pool.map(lambda c: self._cycle_guarded(c, (loaded or {}).get(c.name), gathered.probing_ms(c.name)),
                                     clusters))
        finally:
            self.prober = prober
        beat(runs, _ms(started), sum(self._heartbeat.tell(r) for r in runs), loaded is not None)
        return {r.cluster: r.outcome for r in runs}

    def _cycle_guarded(self, cluster: Cluster, loaded: ClusterState | None = None, probing_ms: int = 0) -> Run:
        started = time.monotonic() - probing_ms / 1000  # its probes, gathered before, count in its duration
        active, healthy, outcome = "?", [], "failed"
        self._preloaded.state = loaded  # the first _load of this run answers it (the cycle's query read it)
        try:
            state, outcome = self._cycle(cluster)
            active = state.active
            healthy = [n for n in cluster.names() if state.nva_health(n).healthy is True]
        except Exception as err:  # the one catch of a timer run: every failure becomes an event
            outcome = f"failed: {err}"
            emit("RunFailed", cluster.name, error=_text(err), kind=type(err).__name__)
            _log.exception("probe cycle of %s failed", cluster.name)
        finally:
            self._preloaded.state = None
        return Run(cluster.name, active, tuple(healthy), outcome, _ms(started))

    def _cycle(self, cluster: Cluster) -> tuple[ClusterState, str]:
        state = self._announce(cluster, self._load(cluster))  # a completed failover whose record is still due
        results = self.prober.probe_all(cluster.nvas, cluster.policy.probe_timeout_seconds, cluster.name)
        owner = executor.new_token() if self.dispatcher else self.actor  # a change this run locks is the executor's
        journal = state.journal
        if journal is not None and not executor.dispatched(journal.lease_owner) and journal.lease_owner != owner:
            # Another actor's lease, judged by what this process sees of it, never by its timestamps (clocks differ):
            lapsed = self._outlast(cluster, state)  # a crashed actor's change is resumed by this run, not a later one
            if lapsed is None:
                self.assessor.warm(cluster)
                return state, f"{journal.kind} to {journal.to_nva} in progress"
            state = lapsed
        plan = self._decide(cluster, results, state, owner)
        if plan.action != "reconcile":
            self.assessor.warm(cluster)  # a new process reads its permissions in the background; later, a no-op
        if not plan.record:
            return state, plan.reason
        unclaimed = plan.action == "resume" and executor.unclaimed(state)
        try:
            state = self.store.save(plan.state)
        except StateConflict:
            return self._load(cluster), "stood down: another actor recorded this cycle"
        self._emit(cluster, plan.events)
        healthy = [n for n, r in results.items() if r.ok]
        try:
            if unclaimed:
                return executor.run_here(self, cluster, state, True, executor.UNCLAIMED)[0], plan.reason
            if plan.action in {"failover", "resume"} and self.dispatcher:
                return executor.hand_off(self, cluster, state, resumed=plan.action == "resume")[0], plan.reason
            if plan.action in {"failover", "resume"}:
                return self._execute(cluster, state, resumed=plan.action == "resume")[0], plan.reason
            if plan.action == "reconcile":
                return executor.hand_off_reconcile(self, cluster, state) if self.dispatcher else self._reconcile(cluster, state, healthy)
            if plan.action == "assess":
                return self._reconcile(cluster, state, healthy, repair=False)
        except WriteNotPermitted as err:
            return self._load(cluster), f"blocked: {err}"
        return state, plan.reason

    def _decide(self, cluster: Cluster, results: Mapping[str, ProbeResult], state: ClusterState, owner: str) -> Plan:
        """decide(), reading where Azure has the cluster when the decision asks for it (first sight, a renamed active,
        a change to give up): one read of Azure, no write."""
        plan = decide(results, state, cluster, self.clock(), owner, self._lease)
        if plan.action == "place":
            plan = decide(results, state, cluster, self.clock(), owner, self._lease, placed=self._placement(cluster))
        return plan

    def _placement(self, cluster: Cluster) -> Placement:
        try:
            return placement_of(cluster, self.network.read(cluster))
        except EngineError as err:
            return unread(str(err))

    def _placed(self, cluster: Cluster, state: ClusterState) -> ClusterState:
        """An operator's request on a cluster first seen or whose active was renamed: placed from Azure first (recorded)."""
        if not needs_placing(state, cluster):
            return state
        placed, detail = place(state, cluster, self._placement(cluster), self.clock())
        if placed.unplaced:
            return placed  # Azure cannot say: decide on the recorded active, record nothing
        try:
            saved = self.store.save(placed)
        except StateConflict:
            return self._load(cluster)
        emit("ClusterPlaced", cluster.name, active=saved.active, detail=detail)
        return saved

    def _outlast(self, cluster: Cluster, state: ClusterState) -> ClusterState | None:
        """Watch another actor's lease by local observation (lease.outlast), with reads bounded well inside the lease: the
        state once it lapsed unrenewed on this process's clock, None if its actor lives."""
        store = self.store.bounded(self.tuning.store_timeout)
        return outlast(lambda: store.load(cluster.name), state, self.clock, self.tuning.lease_seconds, self._lease_watch)

    def _reconcile(self, cluster: Cluster, state: ClusterState, healthy: list[str] | None = None,
                   repair: bool = True) -> tuple[ClusterState, str]:
        """Read Azure back and assess readiness; when Azure differs from the recorded active (healthy now), take the lock
        and repair it. `healthy`: the NVAs whose probe answered in this run (default: those recorded healthy); `repair`
        False: assess only (a cluster first seen)."""
        if healthy is None:
            healthy = [n for n in cluster.names() if state.nva_health(n).healthy is True]
        survey = self.assessor.survey(cluster)
        roles = {n: (h.role, h.role_detail or "") for n, h in state.health.items() if h.role}
        readiness = self.assessor.assess(cluster, state.active, healthy, self.clock(), survey, roles=roles)
        try:
            view, _, failure = survey
            if failure is not None or (blocking := addresses_unread(view)):
                # Route tables that cannot be read are only named by readiness: the rest is still repaired.
                raise PermanentError(failure or "; ".join(f"{r}: {why}" for r, why in blocking.items()))
            if not plan_changes(cluster, state.active, view):
                return state, "reconciled: no drift"
            if not repair or state.paused or not healthy_now(state.nva_health(state.active)):
                why = "first sight" if not repair else "paused" if state.paused else f"{state.active} is not healthy now"
                return state, f"drift found, not repaired: {why}"  # nothing moves toward an NVA not known healthy
            try:
                locked = self.store.save(start(state, "repair", state.active, "auto", "drift repair", self.clock(), self.actor,
                                               self._lease))
            except StateConflict:
                return self._load(cluster), "stood down: another actor took the lock"
            skipped: list[dict[str, str]] = []
            repaired = self._execute(cluster, locked, resumed=False, view=view, skipped_out=skipped)[0]
            if not skipped:  # a table it could not write still differs: placement keeps saying so
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
        results = self.prober.probe_all(cluster.nvas, cluster.policy.probe_timeout_seconds, cluster.name)
        healthy = [n for n, r in results.items() if r.ok]
        roles = {n: (r.role.role, r.role.detail) for n, r in results.items() if r.role}
        readiness = self.assessor.assess(cluster, state.active, healthy, self.clock(), self.assessor.survey(cluster), state_error,
                                         roles=roles)
        if state_error is None:
            readiness = self.assessor.record(self.store, cluster.name, readiness)[0]
        return readiness.as_json(cluster.name)

    # ================================================================= executing a change
    def _execute(self, cluster: Cluster, state: ClusterState, resumed: bool, view: AzureView | None = None,
                 skipped_out: list[dict[str, str]] | None = None) -> tuple[ClusterState, list[dict[str, Any]]]:
        """Carry the journal's change out under its lease: read, write, verify, record. Resumable at any point.
        `skipped_out` receives the writes it went on without (contract §6 "Partial beats none")."""
        journal = state.journal
        assert journal is not None
        partial = partial_allowed(state, journal)
        skipped: dict[str, str] = {}  # resource (or a subscription's listing) -> why it was not read or written
        step = "read"
        applied: list[Change] = []
        timer = WriteClock(self.clock)
        failure: Exception | None = None
        blocked: WriteNotPermitted | None = None
        with LeaseKeeper(self.store, state, self.clock, self._lease, self.tuning.renew_every_seconds) as keeper:
            def done(c: Change) -> None:
                timer.completed(c)
                keeper.record(f"{c.action} {c.resource}")

            def skip(c: Change, why: str) -> None:
                skipped[c.resource] = f"the write failed: {why}"

            try:
                view = view or self.network.read(cluster)
                skipped.update(view.unread)
                # What the journal recorded first stands: the configurations as they were when the change began (a
                # move may since have left their public IP, ASGs and pools behind).
                carried = {**carried_configs(cluster, view.nics), **journal.carried}
                want = desired(cluster, journal.to_nva, view, carried)
                changes = plan_changes(cluster, journal.to_nva, view, carried)
                step = "gate"
                changes = self.assessor.admit(journal, changes, partial, skipped)  # before anything says "started"
                self._announce_start(cluster, keeper, carried, resumed)
                if journal.kind == "repair":
                    for c in changes:
                        emit("DriftDetected", cluster.name, resource=c.resource, expected=dict(c.after), found=dict(c.before))
                step = "write"
                applied = self.network.apply(changes, want, timer.fenced(keeper.fence), done, skip if partial else None)
                step = "verify"
                passed = {r.lower() for r in skipped}
                left = [c for c in plan_changes(cluster, journal.to_nva, self.network.read(cluster), carried)
                        if c.resource.lower() not in passed]
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
            keeper.release(failed=True)
            raise failure
        passed_by = [{"resource": r, "reason": why} for r, why in sorted(skipped.items(), key=lambda i: i[0].lower())]
        if skipped_out is not None:
            skipped_out[:] = passed_by
        return self._complete(cluster, keeper, applied, Timeline(journal.detected_at, timer.writes()), passed_by), \
            [c.describe() for c in applied]

    @staticmethod
    def _announce_start(cluster: Cluster, keeper: LeaseKeeper, found: dict[str, Any], resumed: bool) -> None:
        """Once the gate let the change through: record the floating IP configurations in the journal before any write
        removes one (so a run resuming after a crash between the removal and the addition still adds them with their
        public IP, ASGs and pools), then FailoverStarted, or FailoverResumed when it was announced before."""
        journal = keeper.state.journal
        assert journal is not None
        carried = {**found, **journal.carried}  # what the journal recorded first stands
        if carried != dict(journal.carried) or (journal.kind == "failover" and not journal.announced):
            keeper.commit(lambda s: replace(s, journal=replace(s.journal, carried=carried, announced=True)) if s.journal else s)
        if journal.kind == "failover":
            again = journal.announced or (resumed and bool(journal.steps))
            emit("FailoverResumed" if again else "FailoverStarted", cluster.name, epoch=journal.epoch, to=journal.to_nva,
                 trigger=journal.trigger, reason=journal.reason, **{"from": journal.from_nva},
                 **({"stepsDone": list(journal.steps)} if again else {}))

    def _complete(self, cluster: Cluster, keeper: LeaseKeeper, applied: list[Change], timeline: Timeline,
                  skipped: list[dict[str, str]]) -> ClusterState:
        journal = keeper.state.journal
        assert journal is not None
        now = self.clock()
        changes = [c.describe() for c in applied]
        record = None
        if journal.kind == "failover":
            record = FailoverRecord(journal.epoch, journal.from_nva, journal.to_nva, journal.trigger, journal.reason,
                                    journal.started_at, now, int((now - journal.started_at).total_seconds() * 1000),
                                    tuple(skipped))

        if record is not None:
            if keeper.state.unrecorded not in (None, record.epoch):
                self._announce(cluster, keeper.state)  # an earlier completion still due: its mark is about to be replaced
            self.store.stage_history(cluster.name, record, changes, timeline)

        def done(state: ClusterState) -> ClusterState:
            finished = replace(state, phase="steady", active=journal.to_nva, journal=None)
            return replace(finished, last_failover=record, last_failover_at=now, unrecorded=record.epoch) if record else finished

        saved = keeper.commit(done)
        if record is not None:
            return self._announce(cluster, saved)
        for c in applied:
            emit("DriftCorrected", cluster.name, resource=c.resource, expected=dict(c.after), found=dict(c.before))
        return saved

    def _announce(self, cluster: Cluster, state: ClusterState) -> ClusterState:
        """A completed failover's history row and FailoverCompleted, when still due (shared.control.completion)."""
        return announce(self.store, cluster.name, state, lambda: self._load(cluster), self.tuning.flag_write_attempts)

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
            state = self._placed(cluster, self._announce(cluster, self._load(cluster)))
            if (state.journal is not None and not executor.dispatched(state.journal.lease_owner) and not request.dry_run
                    and not request.force):
                lapsed = self._outlast(cluster, state)  # a live actor's change is never taken over, whatever the clocks
                if lapsed is None:
                    raise RequestError(409, "FailoverInProgress", f"a {state.journal.kind} of {name} to "
                                       f"{state.journal.to_nva} (epoch {state.journal.epoch}) is in progress")
                state = lapsed
            plan = decide_manual(state, cluster, request, self.clock(), self.actor, self._lease)
            to = plan.target
            assert to is not None
            journal = plan.state.journal
            assert journal is not None
            if request.dry_run:
                seen = self.network.read(cluster)
                planned = [c.describe() for c in plan_changes(cluster, to, seen)]
                unread = [{"resource": r, "reason": why} for r, why in sorted(seen.unread.items())]
                emit("FailoverPlanned", cluster.name, epoch=journal.epoch, to=to, changes=planned, skipped=unread,
                     **{"from": state.active})
                return failover_json(cluster.name, journal.epoch, state.active, to, True, _ms(started), planned, unread)
            queued = self.dispatcher is not None and journal.kind == "failover"  # a repair answers its changes: it runs here
            try:
                locked = self.store.save(executor.with_owner(plan.state, executor.new_token(), journal.lease_until)
                                         if queued else plan.state)
                self._emit(cluster, plan.events)  # the change it superseded, if any
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
                                     done["changes"], done.get("skipped"))
            skipped: list[dict[str, str]] = []
            final, changes = self._execute(cluster, locked, resumed=plan.action == "resume", skipped_out=skipped)
        except WriteNotPermitted as err:
            raise RequestError(409, "FailoverBlocked", f"{name!r}: the failover to {err.to!r} {err.why}, so nothing was "
                               f"written: {'; '.join(err.missing)}. {err.remedy}, or set force to try anyway") from None
        except StateConflict:
            raise RequestError(409, "FailoverInProgress", f"another actor took over the change of {name!r}") from None
        except (StateUnavailable, RequestError):
            raise
        except EngineError as err:
            raise RequestError(503, "FailoverFailed", f"{err}; the next timer run resumes it") from None
        return failover_json(cluster.name, final.epoch, journal.from_nva, journal.to_nva, False, _ms(started), changes,
                             skipped)

    def execute(self, name: str, message: Dispatch) -> str:
        """The queue trigger's run: carry out a change the timer or the API locked and queued (shared.control.executor)."""
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
        state: ClusterState | None = getattr(self._preloaded, "state", None)
        if state is not None and state.name == cluster.name:
            self._preloaded.state = None  # read once: a later load (after a conflict, say) reads the store again
            return state
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
