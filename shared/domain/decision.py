"""Pure values a decision answers: the plan (state to record, action to take) and the events it raises."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from shared.domain.state import ClusterState

# place: the decision needs to know where Azure has the cluster (shared.domain.placement); the caller reads it and decides again.
# assess: a reconcile that may not repair (a cluster first seen: readiness at once, nothing written).
Action = Literal["none", "failover", "resume", "reconcile", "repair", "place", "assess"]


@dataclass(frozen=True)
class Event:
    """An event to emit once the plan's state is recorded."""

    name: str
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    """What to record (state, a conditional write) and then do (action), and the events it raises."""

    state: ClusterState
    action: Action = "none"
    events: tuple[Event, ...] = ()
    reason: str = ""
    record: bool = True  # False: write nothing (another actor's change holds the lock; its writes must not be disturbed)

    @property
    def target(self) -> str | None:
        return self.state.journal.to_nva if self.state.journal else None
