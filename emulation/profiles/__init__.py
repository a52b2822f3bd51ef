"""Latency profiles of Azure Resource Manager for the emulator (figures and their sources in the JSON files)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Profile:
    """Operation latencies (seconds) and the Retry-After Azure sends per resource type, scaled for quick runs."""

    latency: dict[str, float]
    retry_after: dict[str, int]  # by resource type ("networkInterfaces", "routeTables", ...) and "default"
    scale: float

    @classmethod
    def load(cls, name: str = "azure", scale: float = 1.0) -> Profile:
        if scale <= 0:
            raise ValueError(f"scale must be greater than 0, not {scale}")
        raw = json.loads((HERE / f"{name}.json").read_text())
        latency = {k: float(v) * scale for k, v in raw["latency"].items()}
        given = raw["retryAfter"] if isinstance(raw["retryAfter"], dict) else {"default": raw["retryAfter"]}
        retry_after = {k: max(1, round(int(v) * scale)) for k, v in given.items()}
        return cls(latency, retry_after, scale)

    def seconds(self, kind: str) -> float:
        return self.latency.get(kind, 0.0)

    def retry_after_for(self, type_name: str) -> int:
        return self.retry_after.get(type_name, self.retry_after.get("default", 10))

    def describe_retry_after(self) -> str:
        return ", ".join(f"{k} {v} s" for k, v in sorted(self.retry_after.items()))
