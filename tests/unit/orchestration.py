"""The orchestration's world of fakes (tests/fakes.py) wired as one deployment: the hub, one engine per actor, a manual clock."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from emulation.topology import two_firewalls
from shared.control.context import Tuning
from shared.domain.config import parse_config
from shared.domain.desired import plan_changes
from shared.domain.policy import initial_state
from shared.domain.state import ClusterState, NvaHealth
from shared.edge.engine import Engine
from tests.fakes import FakeNetwork, ManualClock, MemoryStateStore, RecordingDispatcher, ScriptedProber, Write, down

HUB = two_firewalls({n: {"protocol": "tcp", "address": "127.0.0.1", "port": 22} for n in ("fw-a", "fw-b")})
CONFIG = parse_config(HUB.config)
CLUSTER = CONFIG.clusters[0]
NAME = CLUSTER.name
TUNING = Tuning(manual_wait_seconds=0.5)  # the lease and its renewals as deployed; a manual failover waits half a second
FAILOVER = {"fw-a-untrust", "fw-b-untrust", "spoke1-listed1-rt", "spoke2-listed1-rt", "spoke2-found1-rt"}  # what moves


class Crash(BaseException):
    """A process dying in the middle of a run: nothing in the engine catches it."""


@dataclass
class Fakes:
    clock: ManualClock
    store: MemoryStateStore
    network: FakeNetwork
    prober: ScriptedProber
    dispatcher: RecordingDispatcher

    def engine(self, actor: str, queued: bool = False, skew: float = 0.0) -> Engine:
        """One process's engine: its own actor and wall clock (`skew` seconds off); `queued`: it hands changes off."""
        return Engine(CONFIG, self.store, self.prober, self.network, clock=self.clock.skewed(skew), actor=actor,
                      tuning=TUNING, dispatcher=self.dispatcher if queued else None)

    def state(self) -> ClusterState:
        state = self.store.current(NAME)
        assert state is not None
        return state

    def written(self, writes: list[Write] | None = None) -> set[str]:
        return {w.resource.rsplit("/", 1)[-1] for w in (self.network.writes if writes is None else writes)}

    def placed_on(self, nva: str) -> bool:
        """Azure holds the public IP and every owned route on `nva`."""
        return plan_changes(CLUSTER, nva, self.network.read(CLUSTER)) == []


def build(monkeypatch: pytest.MonkeyPatch) -> Fakes:
    """Both NVAs healthy for a while, fw-a active and holding everything, reconciled just now."""
    clock = ManualClock()
    clock.install(monkeypatch)
    store = MemoryStateStore()
    healthy = NvaHealth(healthy=True, consecutive_successes=5, last_probe_at=clock.now(), healthy_since=clock.now())
    store.create(replace(initial_state(CLUSTER, unplaced=False), health=dict.fromkeys(CLUSTER.names(), healthy),
                         last_reconcile_at=clock.now()))
    return Fakes(clock, store, FakeNetwork(HUB.resources, HUB.all_tables, clock), ScriptedProber(), RecordingDispatcher())


def fail_active(fakes: Fakes, timer: Engine, nva: str = "fw-a") -> dict[str, str]:
    """Probe cycles until `nva` has failed as often as the policy's threshold; the last cycle's outcome."""
    fakes.prober.then(*[{nva: down()}] * CLUSTER.policy.unhealthy_threshold)
    outcome: dict[str, str] = {}
    for _ in range(CLUSTER.policy.unhealthy_threshold):
        outcome = timer.probe_cycle()
    return outcome
