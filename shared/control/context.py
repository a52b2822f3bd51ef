"""What every run of the engine shares: its configuration, ports, clock, actor and timings; loading a cluster's state."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shared.control.assess import Assessor
from shared.control.completion import announce
from shared.control.heartbeat import Heartbeat
from shared.control.lease import LeaseWatch, lease_problems, outlast, store_timeout
from shared.control.ports import NetworkActions
from shared.domain.config import Cluster, Config
from shared.domain.messages import Dispatcher
from shared.domain.observations import Prober
from shared.domain.policy import Event, initial_state
from shared.domain.state import ClusterState, StateStore
from shared.errors import ConfigError, RequestError, StateConflict
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


class Context:
    """What a run works with (the ports, the clock, the actor, the timings) and the steps every run takes."""

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

    def cluster(self, name: str) -> Cluster:
        try:
            return self.config.cluster(name)
        except KeyError:
            raise RequestError(404, "ClusterNotFound", f"no cluster named {name!r}") from None

    def _outlast(self, cluster: Cluster, state: ClusterState) -> ClusterState | None:
        """Watch another actor's lease by local observation (lease.outlast), with reads bounded well inside the lease: the
        state once it lapsed unrenewed on this process's clock, None if its actor lives."""
        store = self.store.bounded(self.tuning.store_timeout)
        return outlast(lambda: store.load(cluster.name), state, self.clock, self.tuning.lease_seconds, self._lease_watch)

    def _announce(self, cluster: Cluster, state: ClusterState) -> ClusterState:
        """A completed failover's history row and FailoverCompleted, when still due (shared.control.completion)."""
        return announce(self.store, cluster.name, state, lambda: self._load(cluster), self.tuning.flag_write_attempts)

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
