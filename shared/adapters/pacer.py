"""Resource Manager calls within budget: mirrors of ARM's buckets from its rate-limit headers, Microsoft.Network's
5-minute limits, and when to poll a running write so that most writes need one status read."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

# ARM's token buckets per subscription, principal and region (size, refill per second), as documented.
BUCKETS: dict[str, tuple[float, float]] = {"reads": (250.0, 25.0), "writes": (200.0, 10.0), "deletes": (200.0, 10.0)}
# Microsoft.Network per subscription and region, across principals: writes and reads per 5 minutes.
NETWORK: dict[str, int] = {"reads": 10_000, "writes": 1_000}
WINDOW = 300.0


def kind_of(method: str) -> str:
    return {"GET": "reads", "HEAD": "reads", "DELETE": "deletes"}.get(method.upper(), "writes")


def subscription_of(url: str) -> str | None:
    parts = url.split("?", 1)[0].split("/")
    for i, part in enumerate(parts[:-1]):
        if part.lower() == "subscriptions":
            return parts[i + 1].lower()
    return None


@dataclass
class _Mirror:
    tokens: float
    stamp: float


class Pacer:
    """Holds each request until our estimate of its bucket (and of the 5-minute window) has room for it.

    The estimate is a token bucket refilled at ARM's documented rate, charged as each request leaves and lowered to
    what `x-ms-ratelimit-remaining-subscription-{reads,writes,deletes}` says whenever Azure reports less (other callers
    share the bucket). A bucket is assumed per subscription, as documented; once Azure reports a bucket draining by more
    than our own requests to that subscription explain, every subscription is paced as one bucket from then on.
    A fraction `reserve` of each bucket is left for others (the HTTP API, other apps, operators).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 reserve: float = 0.05, buckets: dict[str, tuple[float, float]] | None = None,
                 network: dict[str, int] | None = None, window: float = WINDOW) -> None:
        self._clock, self._sleep, self._reserve = clock, sleep, reserve
        self._buckets = dict(buckets or BUCKETS)
        self._network = dict(network or NETWORK)
        self._window = window
        self._lock = threading.Lock()
        self._mirrors: dict[tuple[str, str], _Mirror] = {}
        self._sent: dict[tuple[str, str], deque[float]] = {}
        self.shared: set[str] = set()  # kinds whose bucket proved wider than one subscription
        self.waited = 0.0  # seconds requests were held, in total (for the benchmark)
        self.polls = PollClock()

    def _mirror(self, subscription: str, kind: str, now: float) -> _Mirror:
        size, refill = self._buckets[kind]
        key = ("*" if kind in self.shared else subscription, kind)
        mirror = self._mirrors.setdefault(key, _Mirror(size, now))
        mirror.tokens = min(size, mirror.tokens + (now - mirror.stamp) * refill)
        mirror.stamp = now
        return mirror

    def _wait(self, subscription: str, kind: str, now: float) -> float:
        """Seconds until a request may go (0: charged and may go now)."""
        size, refill = self._buckets[kind]
        mirror = self._mirror(subscription, kind, now)
        floor = 1.0 + self._reserve * size
        wait = 0.0 if mirror.tokens >= floor else (floor - mirror.tokens) / refill
        window_kind = "writes" if kind == "deletes" else kind
        limit = self._network.get(window_kind)
        sent = self._sent.setdefault((subscription, window_kind), deque())
        while sent and sent[0] <= now - self._window:
            sent.popleft()
        if limit is not None and len(sent) >= limit * (1.0 - self._reserve):
            wait = max(wait, sent[0] + self._window - now)
        if wait <= 0.0:
            mirror.tokens -= 1.0
            sent.append(now)
        return wait

    def acquire(self, subscription: str, kind: str) -> float:
        """Blocks until the request fits the budget, then charges it; answers the seconds it was held."""
        held = 0.0
        while True:
            with self._lock:
                wait = self._wait(subscription.lower(), kind, self._clock())
                if wait <= 0.0:
                    return held
                nap = min(wait, 5.0)
                self.waited += nap
            self._sleep(nap)
            held += nap

    def observe(self, subscription: str, kind: str, remaining: str | None, retry_after: str | None = None,
                status: int = 200) -> None:
        """Learns from an answer: its remaining-budget header, and a 429's Retry-After."""
        subscription = subscription.lower()
        with self._lock:
            now = self._clock()
            mirror = self._mirror(subscription, kind, now)
            size, refill = self._buckets[kind]
            if remaining is not None:
                try:
                    left = float(remaining)
                except ValueError:
                    left = mirror.tokens
                if left < mirror.tokens - max(5.0, 0.05 * size) and kind not in self.shared and subscription != "*":
                    self.shared.add(kind)
                    mirror = self._mirror(subscription, kind, now)
                mirror.tokens = min(mirror.tokens, left)
            if status == 429:
                try:
                    after = float(retry_after or 1.0)
                except ValueError:
                    after = 1.0
                mirror.tokens = min(mirror.tokens, 1.0 + self._reserve * size - after * refill)


class PollClock:
    """When to look at a running write first: the median of when the last writes of its kind were seen done.

    A write seen done at its first look counts as done a tenth sooner (it may well have been), one that needed more
    looks counts when it was seen done; so the first look follows Azure's latency both ways, most writes need one
    status read, and one write that hung for minutes does not slow the next ones. Later looks: every poll interval.
    """

    def __init__(self, window: int = 15) -> None:
        self._seen: dict[str, deque[float]] = {}
        self._window = window
        self._lock = threading.Lock()

    def first(self, kind: str, interval: float) -> float:
        with self._lock:
            seen = sorted(self._seen.get(kind, ()))
        return max(interval, seen[len(seen) // 2]) if seen else interval

    def learn(self, kind: str, interval: float, looks: int, elapsed: float) -> None:
        """A write of `kind` was seen done at look `looks`, `elapsed` seconds after its answer."""
        with self._lock:
            seen = self._seen.setdefault(kind, deque(maxlen=self._window))
            seen.append(max(interval, elapsed * 0.9 if looks == 1 else elapsed))


_shared: dict[str, Pacer] = {}
_shared_lock = threading.Lock()
_polls = PollClock()


def shared_pacer(principal: str) -> Pacer:
    """One pacer per identity in this process (ARM's buckets are per principal, whatever engine makes the calls), and
    one poll clock for the process (how long Azure's writes take is learnt across engines and runs)."""
    with _shared_lock:
        if principal not in _shared:
            _shared[principal] = Pacer()
            _shared[principal].polls = _polls
        return _shared[principal]
