"""Pure: Azure's permission rule (actions and notActions, wildcards, case-insensitive), the needs a write has, a verdict."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Protocol


@dataclass(frozen=True, order=True)
class Need:
    """One action the identity must be allowed at one scope (a resource id, or a resource group for an operation read)."""

    action: str
    scope: str

    def text(self) -> str:
        return f"{self.action} on {self.scope}"


@dataclass(frozen=True)
class Grant:
    """One role's permissions as listed for the caller: notActions subtract from that role's actions only."""

    actions: tuple[str, ...]
    not_actions: tuple[str, ...] = ()


@cache
def _pattern(wildcard: str) -> re.Pattern[str]:
    return re.compile("^" + ".*".join(re.escape(p) for p in wildcard.split("*")) + "$", re.IGNORECASE)


def matches(wildcard: str, action: str) -> bool:
    """Azure's action match: case-insensitive, `*` stands for any characters (slashes included)."""
    return _pattern(wildcard).match(action) is not None


def allows(grants: Iterable[Grant], action: str) -> bool:
    """True when one role grants the action and that same role's notActions do not take it away (Azure's rule)."""
    return any(any(matches(a, action) for a in g.actions) and not any(matches(n, action) for n in g.not_actions)
               for g in grants)


def group_of(scope: str) -> str:
    """`/subscriptions/s/resourceGroups/g` of a resource id."""
    parts = scope.split("/")
    return "/".join(parts[:5]) if len(parts) >= 5 else scope


@dataclass(frozen=True)
class Listed:
    """What Azure answered for one scope: the grants, or why they could not be read. `at` is time.monotonic()."""

    scope: str
    grants: tuple[Grant, ...] | None
    error: str | None
    at: float


class PermissionReader(Protocol):
    def list(self, scope: str) -> Listed:
        """The caller's permissions at a resource group or a resource (never raises: an error is recorded in Listed)."""


@dataclass(frozen=True)
class Verdict:
    """The outcome for a set of needs: the ones known to be missing, and the scopes whose permissions could not be read."""

    missing: tuple[Need, ...]
    unreadable: tuple[str, ...]

    def missing_text(self) -> list[str]:
        return [n.text() for n in self.missing]
