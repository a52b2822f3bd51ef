"""Completion exactly once: a completed failover's history row and FailoverCompleted, from the write that completed it."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import replace

from shared.domain.state import ClusterState, StateStore
from shared.errors import EngineError, StateConflict
from shared.events import emit

_log = logging.getLogger("nva_failover.completion")


def announce(store: StateStore, cluster: str, state: ClusterState, load: Callable[[], ClusterState],
             attempts: int = 5) -> ClusterState:
    """The write that completes a failover stages its history row first and marks it `unrecorded` (contract §6
    "Verified means done"). Whichever run sees the mark makes the staged row the history record (idempotent on its row
    key) and clears the mark with a conditional write; the run whose clearing write lands emits FailoverCompleted, from
    what the state recorded. Never raises: whatever fails leaves the mark for the next run. Answers the state after.
    The one window left: a process killed between its clearing write landing and the emit (no I/O between them)."""
    record = state.last_failover
    if state.unrecorded is None or record is None or record.epoch != state.unrecorded:
        return state
    try:
        row = store.record_history(cluster, record.epoch) or {}
        token = f"{record.epoch}:{uuid.uuid4().hex}"  # every clearing write is unique, so a lost answer is told apart
        for _ in range(attempts):
            try:
                cleared = store.save(replace(state, unrecorded=None, recorded_by=token))
                break
            except StateConflict:
                state = load()
                if state.unrecorded != record.epoch:
                    return state  # another run recorded it
        else:
            return state
    except EngineError as err:
        _log.warning("failover %s of %s is not recorded yet (the next run records it): %s", record.epoch, cluster, err)
        return state
    emit("FailoverCompleted", cluster, epoch=record.epoch, to=record.to_nva, trigger=record.trigger,
         durationMs=record.duration_ms, changes=list(row.get("changes", [])), skipped=[dict(s) for s in record.skipped],
         **{"from": record.from_nva})
    return cleared
