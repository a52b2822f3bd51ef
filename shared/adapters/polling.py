"""Long-running Resource Manager writes polled at our pace: the SDK's ARM poller with a deadline and a learnt first look."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from azure.core.polling.base_polling import OperationFailed
from azure.mgmt.core.polling.arm_polling import ARMPolling

from shared.adapters.pacer import PollClock
from shared.errors import TransientError


class Retry(TransientError):
    """Worth another attempt after `after` seconds (re-reading the resource first, for a write)."""

    def __init__(self, message: str, after: float = 0.0) -> None:
        super().__init__(message)
        self.after = after


class PacedPolling(ARMPolling):
    """The SDK's ARM poller at our pace, with a deadline: first look when most writes of this kind are done (learnt),
    then every `interval` instead of the 10 s Retry-After; no look right after the answer and no final GET."""

    def __init__(self, interval: float, deadline: Callable[[], float], what: str, polls: PollClock, kind: str) -> None:
        super().__init__(timeout=interval, lro_options={"final-state-via": "azure-async-operation"})
        self._deadline = deadline
        self._what = what
        self._polls = polls
        self._kind = kind
        self._looks = 0
        self._answered = time.monotonic()

    def _extract_delay(self) -> float:
        if time.monotonic() > self._deadline():
            raise Retry(f"{self._what}: still running at the deadline", 0.0)
        # Not before most writes of this kind are done (learnt, also from writes finishing meanwhile), then every interval.
        typical = self._answered + self._polls.first(self._kind, self._timeout) - time.monotonic()
        return max(float(self._timeout), typical)

    def initialize(self, *args: Any, **kwargs: Any) -> None:
        self._answered = time.monotonic()
        super().initialize(*args, **kwargs)

    def update_status(self) -> None:
        super().update_status()
        self._looks += 1
        if self.finished():
            self._polls.learn(self._kind, self._timeout, self._looks, time.monotonic() - self._answered)

    def _poll(self) -> None:
        while not self.finished():
            self._delay()
            self.update_status()
        if str(self.status()).lower() in {"failed", "canceled", "cancelled"}:
            raise OperationFailed("Operation failed or canceled")
