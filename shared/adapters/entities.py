"""The Table Storage entity of a cluster's state (nested values as JSON text): the stored format, owned by the adapter."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from shared.domain.readiness import Readiness
from shared.domain.state import ClusterState, FailoverRecord, Journal, NvaHealth, iso, parse_time


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
