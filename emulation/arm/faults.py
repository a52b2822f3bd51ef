"""Injected faults: rules that match requests and make them fail the ways Azure's can."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

ACTIONS = {"throttle", "status", "drop", "lose-response", "hang", "fail", "stall"}


@dataclass
class Fault:
    """One rule: which requests (operation id, method, resource text), what happens, how many times."""

    action: str
    operation: str | None = None
    method: str | None = None
    resource: str | None = None
    times: int | None = None
    skip: int = 0
    status: int = 500
    code: str = "InternalServerError"
    message: str = "An error occurred."
    retry_after: float = 1.0
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    hits: int = 0

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fault:
        if data.get("action") not in ACTIONS:
            raise ValueError(f"fault action must be one of {sorted(ACTIONS)}, not {data.get('action')!r}")
        known = {f for f in cls.__dataclass_fields__ if f not in {"id", "hits"}}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        return cls(**data)

    def matches(self, operation: str, method: str, path: str) -> bool:
        if self.operation and self.operation.lower() != operation.lower():
            return False
        if self.method and self.method.upper() != method.upper():
            return False
        return not (self.resource and self.resource.lower() not in path.lower())


class Faults:
    """The active rules; take() consumes the first rule that matches a request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[Fault] = []
        self.released = threading.Event()
        self.hung = 0  # requests waiting in a `hang` fault right now

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._rules.append(fault)
            self.released.clear()
            return fault

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def release(self) -> None:
        self.released.set()

    def take(self, operation: str, method: str, path: str) -> Fault | None:
        with self._lock:
            for rule in self._rules:
                if not rule.matches(operation, method, path):
                    continue
                rule.hits += 1
                if rule.hits <= rule.skip:
                    continue
                if rule.times is not None and rule.hits - rule.skip > rule.times:
                    continue
                return rule
            return None

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(vars(r)) for r in self._rules]
