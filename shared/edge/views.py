"""The API's views of the engine's state: Status and FailoverResult (docs/reference.md §4)."""

from __future__ import annotations

from typing import Any

from shared.domain.config import Cluster
from shared.domain.state import ClusterState, iso, record_json


def status_json(cluster: Cluster, state: ClusterState) -> dict[str, Any]:
    """Status (contract §4)."""
    return {
        "name": cluster.name,
        "active": state.active,
        "epoch": state.epoch,
        "phase": state.phase,
        "paused": state.paused,
        "pausedReason": (state.paused_reason or "paused by an operator") if state.paused else None,
        "nvas": [
            {
                "name": n,
                "healthy": state.nva_health(n).healthy,
                "consecutiveFailures": state.nva_health(n).consecutive_failures,
                "consecutiveSuccesses": state.nva_health(n).consecutive_successes,
                "lastProbeAt": iso(state.nva_health(n).last_probe_at),
                "lastError": state.nva_health(n).last_error,
                "role": state.nva_health(n).role if cluster.nva(n).role is not None else None,
            }
            for n in cluster.names()
        ],
        "lastFailover": record_json(state.last_failover) if state.last_failover else None,
        "readiness": state.readiness.summary() if state.readiness else None,
    }


def failover_json(cluster: str, epoch: int, from_nva: str, to: str, dry_run: bool, duration_ms: int,
                  changes: list[dict[str, Any]], skipped: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """FailoverResult (contract §4); `skipped`: the writes it went on without, each with its reason."""
    return {"cluster": cluster, "epoch": epoch, "from": from_nva, "to": to, "dryRun": dry_run, "durationMs": duration_ms,
            "changes": changes, "skipped": list(skipped or [])}
