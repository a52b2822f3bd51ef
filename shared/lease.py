"""Holds a change's lease while it runs: renews it, records finished steps, and fences writes once it is lost."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from .errors import EngineError, StateConflict
from .state import ClusterState, StateStore


class LeaseKeeper:
    """Owns every state write while a change is in flight, so they form one ETag chain."""

    def __init__(self, store: StateStore, state: ClusterState, clock: Callable[[], datetime], lease: timedelta,
                 renew_every: float) -> None:
        assert state.journal is not None
        self._store = store
        self._state = state
        self._clock = clock
        self._lease = lease
        self._renew_every = renew_every
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._lost: str | None = None
        self._thread = threading.Thread(target=self._loop, name=f"lease-{state.name}", daemon=True)

    @property
    def state(self) -> ClusterState:
        with self._lock:
            return self._state

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _save(self, step: str | None) -> None:
        with self._lock:
            if self._lost is not None:
                return
            journal = self._state.journal
            assert journal is not None
            steps = (*journal.steps, step) if step else journal.steps
            renewed = replace(self._state, journal=replace(journal, steps=steps, lease_until=self._clock() + self._lease))
            try:
                self._state = self._store.save(renewed)
            except StateConflict as err:
                self._lost = f"lease lost: {err}"
            except EngineError:
                pass  # the store is down: keep the lease we have; fence() stops us once it lapses

    def _loop(self) -> None:
        while not self._stop.wait(self._renew_every):
            self._save(None)

    def record(self, step: str) -> None:
        """Note a finished step in the journal (and renew the lease)."""
        self._save(step)

    def fence(self, what: str) -> None:
        """Called before every Azure write: stop if another actor has taken the lease, or ours has lapsed."""
        with self._lock:
            if self._lost is not None:
                raise StateConflict(f"{what}: {self._lost}")
            journal = self._state.journal
            assert journal is not None
            if not journal.lease_live(self._clock()):
                raise StateConflict(f"{what}: lease expired at {journal.lease_until.isoformat()} (state store unreachable?)")
