"""Pure: what one probe run observed of each NVA (its health and, with a role probe, its own answer), and the port that probes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from shared.domain.config import Nva


@dataclass(frozen=True)
class RoleAnswer:
    """An appliance's answer to "are you the active member of your HA cluster?" (shared.adapters.roles asks), and what it was."""

    role: Literal["active", "standby", "unknown"]  # unknown: no answer
    detail: str = ""


@dataclass(frozen=True)
class ProbeResult:
    """One probe's outcome: good or not, why not, and how long it took."""

    ok: bool
    error: str | None = None
    latency_ms: float = 0.0
    role: RoleAnswer | None = None  # the appliance's own answer, when it has a role probe (shared.adapters.roles)


class Prober(Protocol):
    def probe_all(self, nvas: Sequence[Nva], timeout: float, cluster: str = "") -> dict[str, ProbeResult]:
        """Probe every NVA at once; every NVA gets a result within about `timeout` seconds. `cluster` names whose probes
        these are: each cluster's probes run apart from every other cluster's."""
