"""Skew and latency: two racing actors, one whose clock runs 3 s ahead (or behind), one whose every state-store request
takes 1.5 s longer; through random failure rounds, every transition must have one writer of Azure."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from emulation.tcpproxy import TcpProxy

from .lab import Lab
from .race import RaceFigures, run_race

LATENCY_SECONDS = 1.5
# Writes as slow as Azure's fast ones, so a failover lasts long enough for a takeover to land in the middle of it.
ARM_LATENCY = {"networkInterfaces.write": 1.5, "routeTables.write": 1.0}


@dataclass
class SkewFigures:
    runs: dict[str, RaceFigures] = field(default_factory=dict)  # by the skewed actor's clock offset, e.g. "+3s"


def run_skew(lab: Lab, rounds: int = 20, round_seconds: float = 2.0, skews: tuple[float, ...] = (3.0, -3.0),
             latency: float = LATENCY_SECONDS) -> SkewFigures:
    figures = SkewFigures()
    for skew in skews:
        far = TcpProxy(("127.0.0.1", lab.azurite.port), delay=latency)  # the slow actor's way to the state table
        try:
            slow = {"AzureWebJobsStorage": lab.azurite.connection_string.replace(f":{lab.azurite.port}/", f":{far.port}/")}
            variants: list[dict[str, Any]] = [{"args": [f"skew={skew:g}"]}, {"env": slow}]
            figures.runs[f"{skew:+g}s"] = run_race(lab, rounds=rounds, round_seconds=round_seconds, seed=7, variants=variants,
                                                  arm_latency=ARM_LATENCY)
        finally:
            far.close()
    return figures
