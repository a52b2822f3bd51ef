"""A state store that appends every successful conditional write to a JSONL history, for the race checker."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from shared.domain.state import ClusterState, FailoverRecord, StateStore, Timeline
from shared.errors import StateConflict, StateUnavailable


class RecordingStore:
    """Wraps a store; each successful create/save is one line: actor, old and new ETag, epoch, phase, journal."""

    def __init__(self, inner: StateStore, path: Path, actor: str, lock: threading.Lock | None = None) -> None:
        self.inner, self.path, self.actor = inner, path, actor
        self._lock = lock or threading.Lock()
        self.conflicts = 0

    def bounded(self, seconds: float) -> RecordingStore:
        return RecordingStore(self.inner.bounded(seconds), self.path, self.actor, self._lock)

    def _record(self, old: str | None, new: ClusterState, uncertain: bool = False) -> None:
        j = new.journal
        line = {"t": time.time(), "actor": self.actor, "old": old, "new": None if uncertain else new.etag, "epoch": new.epoch,
                "phase": new.phase, **({"uncertain": True} if uncertain else {}),
                "active": new.active, "journal": None if j is None else {"kind": j.kind, "epoch": j.epoch, "to": j.to_nva,
                                                                         "owner": j.lease_owner, "force": j.force},
                # what the writer knew of each NVA: its verdict and whether its latest probe failed (the race checker's
                # "nothing moves toward an NVA whose last probes failed")
                "health": {n: {"healthy": h.healthy, "failures": h.consecutive_failures} for n, h in new.health.items()}}
        with self._lock, self.path.open("a") as f:
            f.write(json.dumps(line) + "\n")

    def load(self, cluster: str) -> ClusterState | None:
        return self.inner.load(cluster)

    def load_all(self) -> dict[str, ClusterState]:
        return self.inner.load_all()

    def create(self, state: ClusterState) -> ClusterState:
        created = self.inner.create(state)
        self._record(None, created)
        return created

    def save(self, state: ClusterState) -> ClusterState:
        try:
            saved = self.inner.save(state)
        except StateConflict:
            self.conflicts += 1
            raise
        except StateUnavailable:
            self._record(state.etag, state, uncertain=True)  # no answer: it may have landed all the same
            raise
        self._record(state.etag, saved)
        return saved

    def append_history(self, cluster: str, record: FailoverRecord, changes: list[dict[str, Any]],
                       timeline: Timeline | None = None) -> None:
        self.inner.append_history(cluster, record, changes, timeline)

    def stage_history(self, cluster: str, record: FailoverRecord, changes: list[dict[str, Any]],
                      timeline: Timeline | None = None) -> None:
        self.inner.stage_history(cluster, record, changes, timeline)

    def record_history(self, cluster: str, epoch: int) -> dict[str, Any] | None:
        return self.inner.record_history(cluster, epoch)

    def history(self, cluster: str, limit: int = 20) -> list[dict[str, Any]]:
        return self.inner.history(cluster, limit)
