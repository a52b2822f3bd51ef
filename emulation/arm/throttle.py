"""ARM's regional token buckets (per subscription, principal, region and kind) and Microsoft.Network's 5-minute limits."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

# Bucket size and refill per second, from "Understand how Azure Resource Manager throttles requests".
DEFAULT_LIMITS: dict[str, tuple[float, float]] = {
    "reads": (250.0, 25.0),
    "writes": (200.0, 10.0),
    "deletes": (200.0, 10.0),
}
GLOBAL = "*global*"
GLOBAL_FACTOR = 15.0


@dataclass
class _Bucket:
    tokens: float
    stamp: float


@dataclass
class Throttle:
    """Token buckets; take() answers (allowed, remaining, seconds until a token)."""

    limits: dict[str, tuple[float, float]] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    enabled: bool = True
    clock: Callable[[], float] = time.monotonic
    # "subscription": a bucket per subscription, principal and kind, as documented; "principal": one bucket per
    # principal and kind across subscriptions (the pessimistic model the benchmark's throttled run uses).
    scope: str = "subscription"
    region: str = "westeurope"  # the ARM region the requests land in: buckets are regional

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str, str], _Bucket] = {}

    def configure(self, limits: dict[str, tuple[float, float]] | None, enabled: bool = True, scope: str = "subscription") -> None:
        if scope not in {"subscription", "principal"}:
            raise ValueError(f"throttle scope must be 'subscription' or 'principal', not {scope!r}")
        with self._lock:
            self.limits = dict(DEFAULT_LIMITS) if limits is None else {**DEFAULT_LIMITS, **limits}
            self.enabled = enabled
            self.scope = scope
            self._buckets.clear()

    def take(self, subscription: str, principal: str, kind: str) -> tuple[bool, int, float, int]:
        """Answers (allowed, remaining for this principal, seconds until a token, remaining across principals)."""
        size, refill = self.limits[kind]
        now = self.clock()
        with self._lock:
            sub = f"{self.region}/{subscription.lower() if self.scope == 'subscription' else '*'}"  # buckets are regional
            own = self._bucket((sub, principal, kind), size, refill, now)
            # The global subscription bucket, across principals: 15 times a principal's ("Understand how Azure Resource
            # Manager throttles requests", 2024 token-bucket table); answered as x-ms-ratelimit-remaining-subscription-global-*.
            shared = self._bucket((sub, GLOBAL, kind), size * GLOBAL_FACTOR, refill * GLOBAL_FACTOR, now)
            if not self.enabled:
                return True, int(own.tokens), 0.0, int(shared.tokens)
            if own.tokens >= 1.0 and shared.tokens >= 1.0:
                own.tokens -= 1.0
                shared.tokens -= 1.0
                return True, int(own.tokens), 0.0, int(shared.tokens)
            waits = [(1.0 - b.tokens) / r if r > 0 else math.inf
                     for b, r in ((own, refill), (shared, refill * GLOBAL_FACTOR)) if b.tokens < 1.0]
            return False, int(own.tokens), max(waits), int(shared.tokens)

    def _bucket(self, key: tuple[str, str, str], size: float, refill: float, now: float) -> _Bucket:
        bucket = self._buckets.setdefault(key, _Bucket(size, now))
        bucket.tokens = min(size, bucket.tokens + (now - bucket.stamp) * refill)
        bucket.stamp = now
        return bucket


# Microsoft.Network's own limits, per subscription and region of the resource, across principals ("Understand how Azure
# Resource Manager throttles requests", Network throttling): 1,000 writes (PUT, PATCH, DELETE) and 10,000 reads per 5 minutes.
NETWORK_LIMITS: dict[str, int] = {"reads": 10_000, "writes": 1_000}
NETWORK_WINDOW = 300.0


@dataclass
class ProviderWindows:
    """Sliding 5-minute windows per subscription, region and kind; take() answers (allowed, remaining, seconds)."""

    limits: dict[str, int] = field(default_factory=lambda: dict(NETWORK_LIMITS))
    window: float = NETWORK_WINDOW
    enabled: bool = True
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, str, str], deque[float]] = {}

    def configure(self, limits: dict[str, int] | None, window: float = NETWORK_WINDOW, enabled: bool = True) -> None:
        with self._lock:
            self.limits = {**NETWORK_LIMITS, **(limits or {})}
            self.window = window
            self.enabled = enabled
            self._seen.clear()

    def take(self, subscription: str, region: str, kind: str) -> tuple[bool, int, float]:
        kind = "writes" if kind == "deletes" else kind
        limit = self.limits.get(kind)
        if limit is None:
            return True, 0, 0.0
        now = self.clock()
        with self._lock:
            seen = self._seen.setdefault((subscription.lower(), region.lower(), kind), deque())
            while seen and seen[0] <= now - self.window:
                seen.popleft()
            if self.enabled and len(seen) >= limit:
                return False, 0, seen[0] + self.window - now
            seen.append(now)
            return True, max(0, limit - len(seen)), 0.0
