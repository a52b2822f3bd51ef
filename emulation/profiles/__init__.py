"""Latency profiles of Azure Resource Manager for the emulator (figures and their sources in the JSON files)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Profile:
    """Operation latencies (seconds) and the Retry-After Azure sends, scaled by a factor for quick runs."""

    latency: dict[str, float]
    retry_after: int
    scale: float

    @classmethod
    def load(cls, name: str = "azure", scale: float = 1.0) -> Profile:
        if scale <= 0:
            raise ValueError(f"scale must be greater than 0, not {scale}")
        raw = json.loads((HERE / f"{name}.json").read_text())
        latency = {k: float(v) * scale for k, v in raw["latency"].items()}
        return cls(latency, max(1, round(int(raw["retryAfter"]) * scale)), scale)

    def seconds(self, kind: str) -> float:
        return self.latency.get(kind, 0.0)
