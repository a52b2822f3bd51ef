"""Failover history: timing each Azure write of a failover, and the history endpoint (contract §4)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from shared.domain.desired import Change
from shared.domain.state import StateStore, WriteTiming
from shared.errors import RequestError

DEFAULT_LIMIT, MAX_LIMIT = 20, 200
_WRITE = "write "  # the fence is called with "write <resource id>" before every attempt at a write


class WriteClock:
    """Notes when each write of a change first passed its fence (started) and when it completed."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._started: dict[str, datetime] = {}
        self._done: list[WriteTiming] = []

    def fenced(self, fence: Callable[[str], None]) -> Callable[[str], None]:
        """`fence`, noting the first moment each write was allowed to start."""
        def timed(what: str) -> None:
            fence(what)
            if what.startswith(_WRITE):
                with self._lock:
                    self._started.setdefault(what[len(_WRITE):].lower(), self._clock())
        return timed

    def completed(self, change: Change) -> None:
        with self._lock:
            end = self._clock()
            start = self._started.pop(change.resource.lower(), end)  # a later write to the same resource starts anew
            self._done.append(WriteTiming(change.resource, change.action, start, end))

    def writes(self) -> tuple[WriteTiming, ...]:
        """The completed writes, in the order they started."""
        with self._lock:
            return tuple(sorted(self._done, key=lambda w: (w.started_at, w.completed_at)))


def parse_limit(params: Mapping[str, str]) -> int:
    """The `limit` query parameter: an integer from 1 to 200, default 20; RequestError(400) otherwise."""
    raw = params.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if re.fullmatch(r"[0-9]{1,4}", raw) is None or not 1 <= int(raw) <= MAX_LIMIT:
        raise RequestError(400, "InvalidRequest", f"limit: must be an integer from 1 to {MAX_LIMIT}, not {raw[:40]!r}")
    return int(raw)


def history_json(cluster: str, store: StateStore, limit: int) -> dict[str, Any]:
    """`{"cluster", "failovers": [FailoverRecord…]}`, newest first."""
    return {"cluster": cluster, "failovers": store.history(cluster, limit)}
