"""Cluster state (frozen values) and the store interface it is kept behind: every save is a conditional write."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal, Protocol

from shared.domain.readiness import Readiness

Phase = Literal["steady", "failing_over"]
Trigger = Literal["auto", "manual"]


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def parse_time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass(frozen=True)
class NvaHealth:
    """Probe history of one NVA: its verdict (None until a threshold is first crossed) and the counters behind it."""

    healthy: bool | None = None
    consecutive_failures: int = 0
    consecutive_successes: int = 0
    last_probe_at: datetime | None = None
    last_error: str | None = None
    healthy_since: datetime | None = None
    failing_since: datetime | None = None  # the first failed probe of the current run of failures
    role: str | None = None  # the appliance's own answer (active, standby, unknown); None without a role probe
    role_detail: str | None = None  # what the answer was (never a header or a body)
    claimed_since: datetime | None = None  # the first "active" answer since it last answered "standby"


@dataclass(frozen=True)
class FailoverRecord:
    """A finished failover, as Status.lastFailover and the history show it."""

    epoch: int
    from_nva: str
    to_nva: str
    trigger: Trigger
    reason: str
    started_at: datetime
    completed_at: datetime
    duration_ms: int
    skipped: tuple[Mapping[str, str], ...] = ()  # {"resource", "reason"}: the writes it went on without


@dataclass(frozen=True)
class WriteTiming:
    """One Azure write of a failover: from its first attempt to its completion."""

    resource: str
    action: str
    started_at: datetime
    completed_at: datetime


@dataclass(frozen=True)
class Timeline:
    """What the history keeps besides the record and its changes, so that a failover can be drawn."""

    detected_at: datetime | None = None
    writes: tuple[WriteTiming, ...] = ()


@dataclass(frozen=True)
class Journal:
    """The change in flight: where it is going, the steps done so far, and who holds its lease until when."""

    kind: Literal["failover", "repair"]
    epoch: int
    from_nva: str
    to_nva: str
    trigger: Trigger
    reason: str
    started_at: datetime
    lease_owner: str
    lease_until: datetime
    force: bool = False
    steps: tuple[str, ...] = ()
    carried: Mapping[str, Any] = field(default_factory=dict)  # floating IP configurations as they were before removal
    detected_at: datetime | None = None  # an automatic failover: the first failed probe of the NVA it leaves
    lease_seconds: float | None = None  # the holder's lease length, written with each renewal: how long a watcher waits
    failures: int = 0  # attempts that failed (FailoverFailed): one that keeps failing is abandoned (contract "Never stuck")
    announced: bool = False  # FailoverStarted was emitted: a resumed change says FailoverResumed

    def lease_live(self, now: datetime) -> bool:
        return now < self.lease_until


@dataclass(frozen=True)
class ClusterState:
    """Everything recorded about one cluster. `etag` is the store's version of it (None: never stored)."""

    name: str
    active: str
    epoch: int = 0
    phase: Phase = "steady"
    paused: bool = False
    paused_reason: str | None = None
    health: Mapping[str, NvaHealth] = field(default_factory=dict)
    last_failover: FailoverRecord | None = None
    journal: Journal | None = None
    last_reconcile_at: datetime | None = None
    last_failover_at: datetime | None = None
    alarm: str | None = None
    readiness: Readiness | None = None  # the last readiness computed (reconcile or check)
    # Completion exactly once: the epoch of `last_failover` while its history row and FailoverCompleted are still due
    # (set by the write that completes it), and who cleared that mark last (so each clearing write is unique).
    unrecorded: int | None = None
    recorded_by: str | None = None
    # First sight (or a placement Azure could not answer): the active is placed from Azure before anything moves.
    unplaced: bool = False
    etag: str | None = None

    def nva_health(self, name: str) -> NvaHealth:
        return self.health.get(name, NvaHealth())

    def with_health(self, health: Mapping[str, NvaHealth]) -> ClusterState:
        return replace(self, health=dict(health))


class StateStore(Protocol):
    """Where cluster state lives. Implementations translate their errors into StateConflict / StateUnavailable."""

    def load(self, cluster: str) -> ClusterState | None:
        """The stored state with its etag, or None when the cluster was never seen."""

    def load_all(self) -> dict[str, ClusterState]:
        """Every stored cluster state by name, in as few calls as the store allows: the start of a probe cycle."""

    def create(self, state: ClusterState) -> ClusterState:
        """Store a first state; StateConflict when one exists already."""

    def save(self, state: ClusterState) -> ClusterState:
        """Replace the state if its etag is still current (StateConflict otherwise); returns it with the new etag."""

    def bounded(self, seconds: float) -> StateStore:
        """The same store, each call given up (StateUnavailable) after `seconds`, never retried: for the lease path."""

    def append_history(self, cluster: str, record: FailoverRecord, changes: list[dict[str, Any]],
                       timeline: Timeline | None = None) -> None:
        """Record a completed failover once; recording the same epoch again changes nothing."""

    def stage_history(self, cluster: str, record: FailoverRecord, changes: list[dict[str, Any]],
                      timeline: Timeline | None = None) -> None:
        """Keep a failover's history row aside before the write that completes it (replacing an earlier attempt's)."""

    def record_history(self, cluster: str, epoch: int) -> dict[str, Any] | None:
        """Make the staged row of `epoch` its history row, once (idempotent on the row key); answers the row as
        history() shows it, or None when neither a staged nor a history row exists."""

    def history(self, cluster: str, limit: int = 20) -> list[dict[str, Any]]:
        """The latest completed failovers, newest first: record_json's fields, changes, detectedAt and writes."""


def record_json(record: FailoverRecord) -> dict[str, Any]:
    """A failover record as the HTTP API shows it (Status.lastFailover)."""
    return {
        "epoch": record.epoch, "from": record.from_nva, "to": record.to_nva, "trigger": record.trigger,
        "reason": record.reason, "startedAt": iso(record.started_at), "completedAt": iso(record.completed_at),
        "durationMs": record.duration_ms,
    }


def timeline_json(timeline: Timeline) -> dict[str, Any]:
    """A failover's timeline as the history shows it: detectedAt and each write's start and end."""
    return {
        "detectedAt": iso(timeline.detected_at),
        "writes": [{"resource": w.resource, "action": w.action, "startedAt": iso(w.started_at),
                    "completedAt": iso(w.completed_at),
                    "durationMs": int((w.completed_at - w.started_at).total_seconds() * 1000)} for w in timeline.writes],
    }
