"""Holds a change's lease while it runs, and judges other actors' leases by what this process has seen of them.

Leases are judged on each process's own monotonic clock, never by comparing one instance's timestamps with another's
(Kubernetes' leader election does the same: client-go's observedRecord / observedTime). The holder counts its lease
from the moment it sent the write that renewed it; a watcher counts it from the moment it first saw that renewal, which
is later. So whatever the clocks of the instances say, and however slow the state store is, the holder's lease ends
(and its writes stop, `fence`) before any watcher counts it lapsed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from shared.domain.state import ClusterState, Journal, StateStore
from shared.errors import EngineError, StateConflict

RELEASED = ""  # the lease owner of a change its actor let go (after a handled failure): any run may resume it at once
STORE_TIMEOUT_SHARE = 0.4  # a state-store call on the lease path may take this share of the lease, one try, no retry


def store_timeout(lease_seconds: float) -> float:
    return round(lease_seconds * STORE_TIMEOUT_SHARE, 3)


def lease_problems(lease_seconds: float, renew_every_seconds: float, timeout_seconds: float) -> list[str]:
    """Why these timings cannot keep a lease (empty when they can): client-go's LeaseDuration > RenewDeadline > RetryPeriod."""
    if lease_seconds <= 0 or renew_every_seconds <= 0 or timeout_seconds <= 0:
        return [f"lease timing: lease ({lease_seconds:g} s), renewal interval ({renew_every_seconds:g} s) and state-store "
                f"timeout ({timeout_seconds:g} s) must all be greater than 0"]
    problems = []
    if renew_every_seconds * 2 > lease_seconds:
        problems.append(f"lease timing: renewing every {renew_every_seconds:g} s cannot keep a {lease_seconds:g} s lease "
                        "(a lease must see at least two renewals)")
    if renew_every_seconds + timeout_seconds >= lease_seconds:
        problems.append(f"lease timing: a renewal due every {renew_every_seconds:g} s whose state-store call may take "
                        f"{timeout_seconds:g} s does not land within the {lease_seconds:g} s lease")
    return problems


class LeaseKeeper:
    """Owns every state write while a change is in flight, so they form one ETag chain; each of them renews the lease."""

    def __init__(self, store: StateStore, state: ClusterState, clock: Callable[[], datetime], lease: timedelta,
                 renew_every: float, timeout: float | None = None) -> None:
        assert state.journal is not None
        seconds = lease.total_seconds()
        self._store = store.bounded(timeout or store_timeout(seconds))  # lease-path calls end well inside the lease
        self._state = state
        self._clock = clock
        self._lease = lease
        self._renew_every = renew_every
        self._lock = threading.Lock()  # serialises commits; held across the network call, so fence() never takes it
        self._guard = threading.Lock()  # guards the fields below; never held across I/O
        # Until a renewal of ours lands: the lease we were given, written by our own clock before it was sent.
        self._valid_until = time.monotonic() + (state.journal.lease_until - clock()).total_seconds()
        self._lost: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"lease-{state.name}", daemon=True)

    @property
    def state(self) -> ClusterState:
        with self._guard:
            return self._state

    def __enter__(self) -> LeaseKeeper:
        """Confirm the lease with a renewal before anything is written: a holder whose state store cannot answer within
        the bound would lose the lease halfway through the change, so it does not start (fence() stops its first write)
        and the change is resumed by a run that can keep it."""
        try:
            self.commit(self._noted(None))
        except StateConflict:
            pass  # recorded in _lost
        except EngineError as err:
            self._lose(f"lease not confirmed by the state store in time, so nothing is written: {err}")
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def commit(self, change: Callable[[ClusterState], ClusterState], attempts: int = 5) -> ClusterState:
        """Write change(state) conditionally, renewing the lease with it. When someone else wrote meanwhile (a pause, a
        health record) and the journal is still ours, re-apply the change on what they wrote; when it is not ours, the
        lease is lost."""
        with self._lock:
            for _ in range(attempts):
                with self._guard:
                    if self._lost is not None:
                        raise StateConflict(self._lost)
                    current = self._state
                sent = time.monotonic()
                try:
                    saved = self._store.save(self._renewing(change)(current))
                except StateConflict as err:
                    fresh = self._store.load(current.name)
                    if fresh is None or not _same_journal(fresh, current):
                        self._lose(f"lease lost: {err}")
                        raise StateConflict(f"lease lost: {err}") from err
                    with self._guard:
                        self._state = fresh
                    continue
                with self._guard:
                    self._state = saved
                    if saved.journal is not None:
                        self._valid_until = sent + self._lease.total_seconds()
                return saved
            self._lose("lease lost: the state kept changing")
            raise StateConflict("lease lost: the state kept changing")

    def _lose(self, why: str) -> None:
        with self._guard:
            self._lost = why

    def _renewing(self, change: Callable[[ClusterState], ClusterState]) -> Callable[[ClusterState], ClusterState]:
        """The change, and the lease renewed from now for its length (recorded, so a watcher waits as long)."""
        def renewed(state: ClusterState) -> ClusterState:
            after = change(state)
            journal = after.journal
            if journal is None or journal.lease_owner == RELEASED:
                return after
            return replace(after, journal=replace(journal, lease_until=self._clock() + self._lease,
                                                  lease_seconds=self._lease.total_seconds()))
        return renewed

    def _noted(self, step: str | None) -> Callable[[ClusterState], ClusterState]:
        def note(state: ClusterState) -> ClusterState:
            journal = state.journal
            assert journal is not None
            return replace(state, journal=replace(journal, steps=(*journal.steps, step))) if step else state
        return note

    def _save(self, step: str | None) -> None:
        try:
            self.commit(self._noted(step))
        except StateConflict:
            pass  # recorded in _lost: fence() stops the next write
        except EngineError:
            pass  # the store is down or slow: keep the lease we have; fence() stops us once it lapses

    def release(self, failed: bool = False) -> None:
        """After a handled failure: let the next run resume at once instead of waiting for the lease to lapse. The
        release is the owner RELEASED, which a watcher trusts whatever its clock says. `failed` counts the attempt, so a
        change that keeps failing is given up (journal_rules.review)."""
        def lapse(state: ClusterState) -> ClusterState:
            assert state.journal is not None
            return replace(state, journal=replace(state.journal, lease_owner=RELEASED, lease_until=self._clock(),
                                                  failures=state.journal.failures + int(failed)))
        try:
            self.commit(lapse)
        except EngineError:
            pass  # the lease lapses on its own
        self._lose("lease released")

    def _loop(self) -> None:
        while not self._stop.wait(self._renew_every):
            self._save(None)

    def record(self, step: str) -> None:
        """Note a finished step in the journal (and renew the lease)."""
        self._save(step)

    def fence(self, what: str) -> None:
        """Called before every Azure write: stop if another actor has taken the lease, or ours has lapsed on our own
        monotonic clock (counted from the sending of our last renewal that landed). Never waits on I/O."""
        with self._guard:
            lost, valid_until = self._lost, self._valid_until
        if lost is not None:
            raise StateConflict(f"{what}: {lost}")
        left = valid_until - time.monotonic()
        if left <= 0:
            raise StateConflict(f"{what}: lease lapsed {-left:.2f} s ago unrenewed (state store slow or unreachable?)")


def _same_journal(a: ClusterState, b: ClusterState) -> bool:
    ja, jb = a.journal, b.journal
    return ja is not None and jb is not None and (ja.kind, ja.epoch, ja.lease_owner, ja.to_nva) == (
        jb.kind, jb.epoch, jb.lease_owner, jb.to_nva)


def _lease_key(j: Journal) -> tuple[object, ...]:
    """What changes when a lease is renewed, taken or let go (any write its holder makes renews it)."""
    return (j.kind, j.epoch, j.to_nva, j.lease_owner, j.lease_until, j.steps)


class LeaseWatch:
    """What this process has seen of other actors' leases: each cluster's latest lease record and when (on this process's
    monotonic clock) it first saw it. client-go's observedRecord and observedTime."""

    def __init__(self, monotonic: Callable[[], float] | None = None) -> None:
        self._monotonic = monotonic or (lambda: time.monotonic())  # read when called, as the rest of this module reads it
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[tuple[object, ...], float]] = {}

    def since(self, cluster: str, journal: Journal) -> float:
        """When this process first saw this lease record, unchanged since (now, if it is new to it)."""
        key = _lease_key(journal)
        with self._lock:
            seen = self._seen.get(cluster)
            if seen is None or seen[0] != key:
                seen = self._seen[cluster] = (key, self._monotonic())
            return seen[1]


def outlast(load: Callable[[], ClusterState | None], state: ClusterState, clock: Callable[[], datetime],
            lease_seconds: float, watch: LeaseWatch | None = None) -> ClusterState | None:
    """Watch another actor's lease by local observation, whatever its timestamps say: None as soon as it is renewed or
    the change moves on (its actor is alive); the state once a lease's length has passed on this process's clock since
    it first saw the lease record, and a read asked after that still finds it unchanged (its actor is gone). The state
    answered has the lease lapsed by this process's clock (same ETag), so a conditional write takes it over.

    The lease's length is the holder's (recorded with each renewal), at least ours. A run watches for at most one of
    our leases; a longer one is watched on by later runs of this process, which remember when they first saw it."""
    journal = state.journal
    assert journal is not None
    if journal.lease_owner == RELEASED:
        return _lapsed(state, clock)
    watch = watch or LeaseWatch()
    since = watch.since(state.name, journal)
    length = max(lease_seconds, journal.lease_seconds or 0.0)
    poll = lease_seconds / 10
    give_up = time.monotonic() + lease_seconds + poll
    while True:
        time.sleep(max(0.0, min(poll, since + length - time.monotonic())))
        asked = time.monotonic()
        fresh = load()
        if fresh is None or fresh.journal is None or _lease_key(fresh.journal) != _lease_key(journal):
            if fresh is not None and fresh.journal is not None:
                watch.since(state.name, fresh.journal)
            return None
        state = fresh
        if asked - since >= length:
            return _lapsed(state, clock)
        if time.monotonic() > give_up:
            return None  # a lease longer than ours (another app on a slower schedule): the next runs watch on


def _lapsed(state: ClusterState, clock: Callable[[], datetime]) -> ClusterState:
    assert state.journal is not None
    return replace(state, journal=replace(state.journal, lease_until=min(state.journal.lease_until, clock())))
