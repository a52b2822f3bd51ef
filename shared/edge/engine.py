"""The engine's facade: one run per public method (the timer's is shared.control.cycle), answered in the contract's shapes."""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any

from shared.control import executor
from shared.control.context import _ms
from shared.control.cycle import Cycle
from shared.domain.desired import plan_changes
from shared.domain.messages import Dispatch
from shared.domain.policy import ManualRequest, decide_manual
from shared.edge.views import failover_json, status_json
from shared.errors import EngineError, Refused, RequestError, StateConflict, StateUnavailable, WriteNotPermitted
from shared.events import emit

_log = logging.getLogger("nva_failover.engine")


class Engine(Cycle):
    """One per configuration. Every public method is one run: it catches once, at the top, with a failure event."""

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
            try:
                plan = decide_manual(state, cluster, request, self.clock(), self.actor, self._lease)
            except Refused as refused:
                raise answered(refused) from None
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



# How the edge answers a refusal of the decisions (contract §4).
REFUSED_STATUS = {"NvaNotFound": 404, "FailoverInProgress": 409, "NoHealthyTarget": 409, "TargetUnhealthy": 409}


def answered(refused: Refused) -> RequestError:
    return RequestError(REFUSED_STATUS.get(refused.code, 409), refused.code, refused.message)
