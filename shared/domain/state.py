"""Cluster state (frozen values) and the store interface it is kept behind: every save is a conditional write."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
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


# ------------------------------------------------------------------------------------------ (de)serialization
def _health_json(health: Mapping[str, NvaHealth]) -> str:
    return json.dumps({
        name: {**asdict(h), "last_probe_at": iso(h.last_probe_at), "healthy_since": iso(h.healthy_since),
               "failing_since": iso(h.failing_since), "claimed_since": iso(h.claimed_since)}
        for name, h in health.items()
    })


def _health_from(text: str | None) -> dict[str, NvaHealth]:
    out = {}
    for name, h in json.loads(text or "{}").items():
        h["last_probe_at"] = parse_time(h["last_probe_at"])
        h["healthy_since"] = parse_time(h["healthy_since"])
        h["failing_since"] = parse_time(h.get("failing_since"))
        h["claimed_since"] = parse_time(h.get("claimed_since"))  # absent in states stored before roles
        out[name] = NvaHealth(**h)
    return out


def _record_json(record: FailoverRecord | None) -> str | None:
    if record is None:
        return None
    return json.dumps({**asdict(record), "started_at": iso(record.started_at), "completed_at": iso(record.completed_at),
                       "skipped": [dict(s) for s in record.skipped]})


def _record_from(text: str | None) -> FailoverRecord | None:
    if not text:
        return None
    data = json.loads(text)
    data["started_at"], data["completed_at"] = parse_time(data["started_at"]), parse_time(data["completed_at"])
    data["skipped"] = tuple(data.get("skipped") or ())
    return FailoverRecord(**data)


def _journal_json(journal: Journal | None) -> str | None:
    if journal is None:
        return None
    return json.dumps({**asdict(journal), "started_at": iso(journal.started_at), "lease_until": iso(journal.lease_until),
                       "steps": list(journal.steps), "detected_at": iso(journal.detected_at)})


def _journal_from(text: str | None) -> Journal | None:
    if not text:
        return None
    data = json.loads(text)
    data["started_at"], data["lease_until"] = parse_time(data["started_at"]), parse_time(data["lease_until"])
    data["steps"] = tuple(data["steps"])
    data["detected_at"] = parse_time(data.get("detected_at"))
    return Journal(**data)


def to_entity(state: ClusterState) -> dict[str, Any]:
    """The Table Storage entity of a state (nested values as JSON text)."""
    return {
        "PartitionKey": "cluster",
        "RowKey": state.name,
        "active": state.active,
        "epoch": state.epoch,
        "phase": state.phase,
        "paused": state.paused,
        "pausedReason": state.paused_reason or "",
        "health": _health_json(state.health),
        "lastFailover": _record_json(state.last_failover) or "",
        "journal": _journal_json(state.journal) or "",
        "lastReconcileAt": iso(state.last_reconcile_at) or "",
        "lastFailoverAt": iso(state.last_failover_at) or "",
        "alarm": state.alarm or "",
        "readiness": state.readiness.to_text() if state.readiness else "",
        "unrecorded": "" if state.unrecorded is None else str(state.unrecorded),
        "recordedBy": state.recorded_by or "",
        "unplaced": state.unplaced,
    }


def from_entity(entity: Mapping[str, Any], etag: str | None) -> ClusterState:
    return ClusterState(
        name=str(entity["RowKey"]),
        active=str(entity["active"]),
        epoch=int(entity["epoch"]),
        phase=entity["phase"],
        paused=bool(entity["paused"]),
        paused_reason=entity.get("pausedReason") or None,
        health=_health_from(entity.get("health")),
        last_failover=_record_from(entity.get("lastFailover")),
        journal=_journal_from(entity.get("journal")),
        last_reconcile_at=parse_time(entity.get("lastReconcileAt") or None),
        last_failover_at=parse_time(entity.get("lastFailoverAt") or None),
        alarm=entity.get("alarm") or None,
        readiness=Readiness.from_text(entity.get("readiness") or None),
        unrecorded=int(entity["unrecorded"]) if entity.get("unrecorded") else None,
        recorded_by=entity.get("recordedBy") or None,
        unplaced=bool(entity.get("unplaced", False)),  # absent in states stored before placement
        etag=etag,
    )


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
