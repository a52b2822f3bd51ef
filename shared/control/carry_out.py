"""Carrying a locked change out under its lease: read, plan, gate, write, verify, complete; resumable at any point."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from shared.control.assess import abandon, partial_allowed
from shared.control.context import Context, _text
from shared.control.history import WriteClock
from shared.control.lease import LeaseKeeper
from shared.domain.config import Cluster
from shared.domain.desired import AzureView, Change, desired, plan_changes
from shared.domain.floating import carried_configs
from shared.domain.state import ClusterState, FailoverRecord, Timeline
from shared.errors import EngineError, StateConflict, WriteNotPermitted
from shared.events import emit

_log = logging.getLogger("nva_failover.engine")


class CarryOut(Context):
    """The one way a change is carried out, whoever locked it (the timer, an operator, the executor)."""

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

