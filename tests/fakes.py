"""In-memory fakes of the engine's ports (state store, network, prober, dispatcher) and a manual clock, for unit tests."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from shared.control import executor, lease
from shared.domain.config import Cluster, Nva
from shared.domain.desired import NOT_FOUND, AzureView, Change, Desired
from shared.domain.messages import Dispatch
from shared.domain.observations import ProbeResult
from shared.domain.state import ClusterState, FailoverRecord, Timeline, record_json, timeline_json
from shared.errors import EngineError, StateConflict
from tests.unit.seeded import seeded_view

Body = dict[str, Any]


class ManualClock:
    """Time that moves only when a test advances it, or when code under test sleeps on it: a UTC datetime (`now`, the
    engine's clock) and a monotonic reading (`monotonic`, what leases are measured by) that move together."""

    def __init__(self, start: datetime = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)) -> None:
        self._start = start
        self._elapsed = 0.0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._start + timedelta(seconds=self._elapsed)

    def monotonic(self) -> float:
        with self._lock:
            return self._elapsed

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._elapsed += max(0.0, seconds)

    sleep = advance  # a sleep on this clock returns at once, the clock moved on

    def skewed(self, seconds: float) -> Callable[[], datetime]:
        """Another instance's wall clock: this one, `seconds` ahead (negative: behind)."""
        return lambda: self.now() + timedelta(seconds=seconds)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Leases (shared.control.lease) and the executor's waits (shared.control.executor) measure and sleep on this clock. They read
        `time.monotonic` and `time.sleep` from their module's `time` when called; nothing else in the process is touched."""
        fake = SimpleNamespace(monotonic=self.monotonic, sleep=self.sleep)
        monkeypatch.setattr(lease, "time", fake)
        monkeypatch.setattr(executor, "time", fake)


class MemoryStateStore:
    """The StateStore protocol in memory: every save is conditional on an etag from a counter (StateConflict when stale);
    `failure` makes every call raise it (a store that is down); `hold` cleared makes every save wait until it is set again
    (a store that hangs); `on_load` runs before each load (another actor's write)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._states: dict[str, ClusterState] = {}
        self._staged: dict[tuple[str, int], dict[str, Any]] = {}
        self._history: dict[tuple[str, int], dict[str, Any]] = {}
        self._etags = 0
        self.saved: list[ClusterState] = []  # every state written, in order
        self.failure: EngineError | None = None
        self.on_load: Callable[[str], None] | None = None
        self.hold = threading.Event()
        self.hold.set()

    def _check(self) -> None:
        if self.failure is not None:
            raise self.failure

    def _stored(self, state: ClusterState) -> ClusterState:
        self._etags += 1
        stored = replace(state, etag=str(self._etags))
        self._states[state.name] = stored
        self.saved.append(stored)
        return stored

    def current(self, cluster: str) -> ClusterState | None:
        """What is stored, as a test looks at it (no hook, no failure)."""
        with self._lock:
            return self._states.get(cluster)

    def forget(self, cluster: str) -> None:
        """The state table deleted (or a new one named): the cluster is first seen again."""
        with self._lock:
            self._states.pop(cluster, None)

    def load_all(self) -> dict[str, ClusterState]:
        """Every cluster's state, as the probe cycle's one query reads them."""
        with self._lock:
            self._check()
            return dict(self._states)

    def load(self, cluster: str) -> ClusterState | None:
        if self.on_load is not None:
            self.on_load(cluster)
        with self._lock:
            self._check()
            return self._states.get(cluster)

    def create(self, state: ClusterState) -> ClusterState:
        with self._lock:
            self._check()
            if state.name in self._states:
                raise StateConflict(f"create {state.name}: the state exists already (409)")
            return self._stored(state)

    def save(self, state: ClusterState) -> ClusterState:
        if state.etag is None:
            return self.create(state)
        self.hold.wait()
        with self._lock:
            self._check()
            current = self._states.get(state.name)
            if current is None or current.etag != state.etag:
                raise StateConflict(f"save {state.name}: the state changed since it was read (412)")
            return self._stored(state)

    def bounded(self, seconds: float) -> MemoryStateStore:
        return self  # memory answers at once

    def append_history(self, cluster: str, record: FailoverRecord, changes: list[dict[str, Any]],
                       timeline: Timeline | None = None) -> None:
        with self._lock:
            self._check()
            self._history.setdefault((cluster, record.epoch), _row(record, changes, timeline))

    def stage_history(self, cluster: str, record: FailoverRecord, changes: list[dict[str, Any]],
                      timeline: Timeline | None = None) -> None:
        with self._lock:
            self._check()
            self._staged[(cluster, record.epoch)] = _row(record, changes, timeline)

    def record_history(self, cluster: str, epoch: int) -> dict[str, Any] | None:
        with self._lock:
            self._check()
            staged = self._staged.pop((cluster, epoch), None)
            if staged is not None:
                self._history.setdefault((cluster, epoch), staged)
            row = self._history.get((cluster, epoch))
            return copy.deepcopy(row)

    def history(self, cluster: str, limit: int = 20) -> list[dict[str, Any]]:
        with self._lock:
            self._check()
            rows = sorted(((e, r) for (c, e), r in self._history.items() if c == cluster), key=lambda i: i[0], reverse=True)
            return [copy.deepcopy(r) for _, r in rows[:limit]]


def _row(record: FailoverRecord, changes: list[dict[str, Any]], timeline: Timeline | None) -> dict[str, Any]:
    """A history row as TableStateStore.history answers it."""
    timed = timeline_json(timeline or Timeline())
    return {**record_json(record), "detectedAt": timed["detectedAt"], "changes": copy.deepcopy(changes),
            "skipped": [dict(s) for s in record.skipped], "writes": timed["writes"]}


@dataclass(frozen=True)
class Write:
    """One write the fake network made: the resource, the change's action and when (the clock's monotonic reading)."""

    resource: str
    action: str
    at: float


class FakeNetwork:
    """NetworkActions over resource bodies in memory. A write passes the fence first, replaces the body when its etag is
    current (If-Match), or is planned again on the current body as AzureNetwork does; public IPs' holders follow the
    NICs. `fail` maps a resource id (lower case) to the error its writes raise; `after_write` runs after each write."""

    def __init__(self, resources: Iterable[Body], managed_tables: Iterable[str], clock: ManualClock) -> None:
        view = seeded_view(resources, managed_tables)
        self._bodies: dict[str, Body] = {**view.nics, **view.public_ips, **view.route_tables}
        self._etags = 0
        for body in self._bodies.values():
            body["etag"] = self._etag()
        self._tables = {t.lower() for t in managed_tables}
        self._clock = clock
        self._lock = threading.Lock()
        self.writes: list[Write] = []
        self.fail: dict[str, Exception] = {}
        self.after_write: Callable[[Write], None] | None = None

    def _etag(self) -> str:
        self._etags += 1
        return f'W/"{self._etags}"'

    def body(self, resource: str) -> Body:
        with self._lock:
            return copy.deepcopy(self._bodies[resource.lower()])

    def read(self, cluster: Cluster) -> AzureView:
        return self.survey(cluster)[0]

    def survey(self, cluster: Cluster) -> tuple[AzureView, list[str]]:
        nic_ids = [nva.nic_id(leg).lower() for nva in cluster.nvas for leg in nva.interfaces]
        pip_ids = [p.id.lower() for p in cluster.public_ips] + [f.public_ip.lower() for f in cluster.floating_ips if f.public_ip]
        with self._lock:
            missing = [i for i in (*nic_ids, *pip_ids, *(t.lower() for t in cluster.route_tables)) if i not in self._bodies]
            view = AzureView(self._copies(nic_ids), self._copies(pip_ids), self._copies(self._tables),
                             {m: NOT_FOUND for m in missing})
        return view, missing

    def _copies(self, ids: Iterable[str]) -> dict[str, Body]:
        return {i: copy.deepcopy(self._bodies[i]) for i in ids if i in self._bodies}

    def apply(self, changes: Sequence[Change], desired: Desired, fence: Callable[[str], None],
              on_done: Callable[[Change], None], skip: Callable[[Change, str], None] | None = None) -> list[Change]:
        """One write at a time, in the order AzureNetwork allows: detaches and route tables, then attaches."""
        ordered = [c for c in changes if c.kind == "nic" and c.phase == 0] + [c for c in changes if c.kind == "routeTable"] + \
            [c for c in changes if c.kind == "nic" and c.phase == 1]
        done: list[Change] = []
        for change in ordered:
            try:
                written = self._write(change, desired, fence)
            except StateConflict:
                raise
            except Exception as err:
                if skip is None or change.kind != "routeTable":
                    raise
                skip(change, str(err))
                continue
            if written is not None:
                done.append(written)
                on_done(written)
        return done

    def _write(self, change: Change, want: Desired, fence: Callable[[str], None]) -> Change | None:
        fence(f"write {change.resource}")
        key = change.resource.lower()
        if key in self.fail:
            raise self.fail[key]
        with self._lock:
            current = self._bodies[key]
            if change.etag is not None and change.etag != current.get("etag"):  # If-Match failed: plan it again
                replanned = want.nic_change(current) if change.kind == "nic" else want.route_table_change(current)
                if replanned is None:
                    return None
                change = replanned
            self._bodies[key] = {**copy.deepcopy(change.body), "etag": self._etag()}
            if change.kind == "nic":
                self._hold_public_ips(key)
            write = Write(change.resource, change.action, self._clock.monotonic())
            self.writes.append(write)
        if self.after_write is not None:
            self.after_write(write)
        return change

    def _hold_public_ips(self, nic_key: str) -> None:
        """Each public IP's ipConfiguration names the IP configuration that holds it, as Azure keeps it."""
        ipconfigs = self._bodies[nic_key]["properties"]["ipConfigurations"]
        held = {str(ref).lower(): c["id"] for c in ipconfigs if (ref := (c["properties"].get("publicIPAddress") or {}).get("id"))}
        for key, body in self._bodies.items():
            props = body.setdefault("properties", {})
            if key in held:
                props["ipConfiguration"] = {"id": held[key]}
            elif "/publicipaddresses/" in key and str((props.get("ipConfiguration") or {}).get("id", "")).lower().startswith(nic_key + "/"):
                props.pop("ipConfiguration", None)


def up() -> ProbeResult:
    return ProbeResult(True, None, 1.0)


def down(error: str = "connection refused") -> ProbeResult:
    return ProbeResult(False, error, 1.0)


class ScriptedProber:
    """Answers each probe_all with the next scripted round (NVA name -> ProbeResult); an NVA a round does not name is up,
    and once the script runs out every NVA is."""

    def __init__(self, *rounds: Mapping[str, ProbeResult]) -> None:
        self._rounds = list(rounds)
        self._lock = threading.Lock()

    def then(self, *rounds: Mapping[str, ProbeResult]) -> None:
        with self._lock:
            self._rounds.extend(rounds)

    def probe_all(self, nvas: Sequence[Nva], timeout: float, cluster: str = "") -> dict[str, ProbeResult]:
        with self._lock:
            answers = self._rounds.pop(0) if self._rounds else {}
        return {nva.name: answers.get(nva.name, up()) for nva in nvas}


class RecordingDispatcher:
    """The Dispatcher protocol: keeps every message it accepted in `sent`; with `failure` set, raises it instead."""

    def __init__(self) -> None:
        self.sent: list[Dispatch] = []
        self.failure: EngineError | None = None

    def dispatch(self, message: Dispatch) -> None:
        if self.failure is not None:
            raise self.failure
        self.sent.append(message)
