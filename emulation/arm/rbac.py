"""Optional Azure RBAC enforcement: principals, their allowed actions and the scopes they hold them at."""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Assignment:
    """A role assignment: a set of actions (wildcards allowed) granted at a scope and below."""

    scope: str
    actions: tuple[str, ...]
    not_actions: tuple[str, ...] = ()

    def applies(self, resource: str) -> bool:
        scope = self.scope.rstrip("/").lower()
        target = resource.rstrip("/").lower()
        return scope == "" or target == scope or target.startswith(scope + "/")

    def covers(self, action: str, resource: str) -> bool:
        if not self.applies(resource):
            return False
        granted = any(fnmatch.fnmatchcase(action.lower(), pattern.lower()) for pattern in self.actions)
        return granted and not any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in self.not_actions)

    def permission(self) -> dict[str, list[str]]:
        """As `Microsoft.Authorization/permissions` lists it."""
        return {"actions": list(self.actions), "notActions": list(self.not_actions), "dataActions": [], "notDataActions": []}


@dataclass
class Rbac:
    """When enforcing, a principal may do only what one of its assignments covers."""

    enforcing: bool = False
    assignments: dict[str, list[Assignment]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def configure(self, assignments: dict[str, list[Assignment]] | None) -> None:
        with self._lock:
            self.enforcing = assignments is not None
            self.assignments = dict(assignments or {})

    def allowed(self, principal: str, action: str, resource: str) -> bool:
        with self._lock:
            if not self.enforcing:
                return True
            return any(a.covers(action, resource) for a in self.assignments.get(principal, []))

    def permissions(self, principal: str, scope: str) -> list[dict[str, list[str]]]:
        """The caller's permissions at a scope: one entry per assignment at that scope or above (everything when not enforcing)."""
        with self._lock:
            if not self.enforcing:
                return [Assignment("", ("*",)).permission()]
            return [a.permission() for a in self.assignments.get(principal, []) if a.applies(scope)]
