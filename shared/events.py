"""Emits contract events (§5) as log records carrying `microsoft.custom_event.name` and their fields."""

from __future__ import annotations

import json
import logging
from typing import Any

EVENT_LOGGER = "nva_failover.events"
EVENT_ATTRIBUTE = "microsoft.custom_event.name"
_log = logging.getLogger(EVENT_LOGGER)

CONTRACT_EVENTS = (
    "ProbeCycle", "NvaHealthChanged", "FailoverStarted", "FailoverCompleted", "FailoverFailed", "NoHealthyNva",
    "DriftDetected", "DriftCorrected", "ClusterPaused", "ClusterResumed", "ConfigInvalid", "ReadinessChanged",
    "FailoverBlocked", "SplitBrain", "FailoverAbandoned",
)


_WARNINGS = {"FailoverFailed", "NoHealthyNva", "ConfigInvalid", "RunFailed", "FailoverBlocked", "FailoverAbandoned"}


def _scalar(value: Any) -> Any:
    """OpenTelemetry attributes are scalars: nested values travel as JSON text."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    return json.dumps(value, default=str, sort_keys=True)


def emit(name: str, cluster: str, **fields: Any) -> None:
    """One event: a log record whose attributes Application Insights turns into customEvents dimensions."""
    attributes = {EVENT_ATTRIBUTE: name, "cluster": cluster, **{k: _scalar(v) for k, v in fields.items()}}
    level = logging.WARNING if name in _WARNINGS else logging.INFO
    summary = " ".join(f"{k}={v}" for k, v in attributes.items() if k != EVENT_ATTRIBUTE)
    _log.log(level, "%s %s", name, summary, extra=attributes)
