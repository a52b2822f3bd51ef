"""Holds a change's lease while it runs: renews it, records finished steps, and fences writes once it is lost."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from .errors import EngineError, StateConflict
from .state import ClusterState, Journal, StateStore


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

    def commit(self, change: Callable[[ClusterState], ClusterState], attempts: int = 5) -> ClusterState:
        """Write change(state) conditionally. When someone else wrote meanwhile (a pause, a health record) and the
        journal is still ours, re-apply the change on what they wrote; when it is not ours, the lease is lost."""
        with self._lock:
            if self._lost is not None:
                raise StateConflict(self._lost)
            for _ in range(attempts):
                try:
                    self._state = self._store.save(change(self._state))
                    return self._state
                except StateConflict as err:
                    fresh = self._store.load(self._state.name)
                    if fresh is None or not _same_journal(fresh, self._state):
                        self._lost = f"lease lost: {err}"
                        raise StateConflict(self._lost) from err
                    self._state = fresh
            self._lost = "lease lost: the state kept changing"
            raise StateConflict(self._lost)

    def _renewed(self, step: str | None) -> Callable[[ClusterState], ClusterState]:
        def renew(state: ClusterState) -> ClusterState:
            journal = state.journal
            assert journal is not None
            steps = (*journal.steps, step) if step else journal.steps
            return replace(state, journal=replace(journal, steps=steps, lease_until=self._clock() + self._lease))
        return renew

    def _save(self, step: str | None) -> None:
        try:
            self.commit(self._renewed(step))
        except StateConflict:
            pass  # recorded in _lost: fence() stops the next write
        except EngineError:
            pass  # the store is down: keep the lease we have; fence() stops us once it lapses

    def release(self) -> None:
        """After a handled failure: let the next run resume at once instead of waiting for the lease to lapse."""
        def lapse(state: ClusterState) -> ClusterState:
            assert state.journal is not None
            return replace(state, journal=replace(state.journal, lease_until=self._clock()))
        try:
            self.commit(lapse)
        except EngineError:
            pass  # the lease lapses on its own

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


def _same_journal(a: ClusterState, b: ClusterState) -> bool:
    ja, jb = a.journal, b.journal
    return ja is not None and jb is not None and (ja.kind, ja.epoch, ja.lease_owner, ja.to_nva) == (
        jb.kind, jb.epoch, jb.lease_owner, jb.to_nva)


def outlast(load: Callable[[], ClusterState | None], state: ClusterState, clock: Callable[[], datetime],
            lease_seconds: float) -> ClusterState | None:
    """Watch another actor's live lease: None as soon as it is renewed or the change moves on (its actor is alive);
    the state once it has lapsed unrenewed (its actor is gone). Leases last half a schedule period and are renewed
    five times per lease, so this tells a live actor within a fifth of a lease and a dead one within one lease."""
    journal = state.journal
    assert journal is not None
    poll = lease_seconds / 10
    give_up = time.monotonic() + lease_seconds + poll
    while journal.lease_live(clock()):
        if time.monotonic() > give_up:
            return None  # a lease longer than ours (another app on a slower schedule): its own runs resume it
        time.sleep(poll)
        fresh = load()
        if fresh is None or fresh.journal is None or not _same_lease(fresh.journal, journal):
            return None
        state = fresh
    return state


def _same_lease(a: Journal, b: Journal) -> bool:
    return (a.kind, a.epoch, a.to_nva, a.lease_owner, a.lease_until) == (b.kind, b.epoch, b.to_nva, b.lease_owner, b.lease_until)
