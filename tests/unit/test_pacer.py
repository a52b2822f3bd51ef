"""The pacer holds requests to ARM's budget as its headers report it, and the poll clock learns when writes finish."""

from __future__ import annotations

import pytest

from emulation.arm.throttle import ProviderWindows
from shared.adapters.pacer import Pacer, PollClock, kind_of, subscription_of


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def pacer(clock: Clock, **kw: object) -> Pacer:
    return Pacer(clock=clock, sleep=clock.sleep, **kw)  # type: ignore[arg-type]


def test_requests_and_subscriptions_are_read_from_the_url() -> None:
    url = "https://management.azure.com/subscriptions/ABC/resourceGroups/rg/providers/Microsoft.Network/routeTables/t?api-version=1"
    assert subscription_of(url) == "abc"
    assert subscription_of("https://management.azure.com/providers/Microsoft.Network/operations") is None
    assert (kind_of("GET"), kind_of("PUT"), kind_of("PATCH"), kind_of("DELETE")) == ("reads", "writes", "writes", "deletes")


def test_a_full_bucket_lets_a_burst_through_then_paces_at_the_refill_rate() -> None:
    clock = Clock()
    p = pacer(clock, reserve=0.0, buckets={"reads": (250, 25), "writes": (10, 2), "deletes": (10, 2)})
    for _ in range(10):
        p.acquire("s1", "writes")
    assert clock.slept == []
    for _ in range(4):
        p.acquire("s1", "writes")
    assert clock.now == pytest.approx(2.0)  # four more at 2 per second


def test_the_remaining_header_lowers_the_estimate_and_a_429_waits_its_retry_after() -> None:
    clock = Clock()
    p = pacer(clock, reserve=0.0, buckets={"reads": (250, 25), "writes": (200, 10), "deletes": (200, 10)})
    p.acquire("s1", "writes")
    p.observe("s1", "writes", "0")  # someone else drained it
    p.acquire("s1", "writes")
    assert clock.now == pytest.approx(0.1)
    p.observe("s1", "writes", None, retry_after="3", status=429)
    p.acquire("s1", "writes")
    assert clock.now == pytest.approx(3.1)


def test_a_bucket_shown_wider_than_one_subscription_paces_all_subscriptions_as_one() -> None:
    clock = Clock()
    p = pacer(clock, reserve=0.0, buckets={"reads": (250, 25), "writes": (20, 10), "deletes": (20, 10)})
    for _ in range(10):
        p.acquire("s1", "writes")
    p.observe("s2", "writes", "10")  # s2 untouched by us, yet half empty: the bucket is shared
    assert "writes" in p.shared
    for _ in range(10):
        p.acquire("s3", "writes")
    assert clock.slept == []
    p.acquire("s4", "writes")
    assert clock.now == pytest.approx(0.1)


def test_reserve_is_left_for_other_callers() -> None:
    clock = Clock()
    p = pacer(clock, reserve=0.1, buckets={"reads": (100, 10), "writes": (200, 10), "deletes": (200, 10)})
    for _ in range(90):
        p.acquire("s1", "reads")
    assert clock.slept == []
    p.acquire("s1", "reads")
    assert clock.now > 0


def test_microsoft_network_five_minute_window_holds_the_thousand_and_first_write() -> None:
    clock = Clock()
    p = pacer(clock, reserve=0.0, buckets={"reads": (250, 25), "writes": (10_000, 1_000), "deletes": (10_000, 1_000)},
              network={"writes": 1000, "reads": 10_000})
    for _ in range(1000):
        p.acquire("s1", "writes")
    assert clock.now == 0.0
    p.acquire("s1", "writes")
    assert clock.now == pytest.approx(300.0)
    p.acquire("s2", "writes")  # another subscription has its own window
    assert clock.now == pytest.approx(300.0)


def test_emulated_windows_refuse_the_thousand_and_first_write_per_subscription_and_region() -> None:
    clock = Clock()
    windows = ProviderWindows(clock=clock)
    assert all(windows.take("s1", "westeurope", "writes")[0] for _ in range(1000))
    allowed, remaining, wait = windows.take("s1", "westeurope", "writes")
    assert (allowed, remaining, wait) == (False, 0, pytest.approx(300.0))
    assert windows.take("s1", "northeurope", "writes")[0]
    assert windows.take("s1", "westeurope", "reads")[0]
    clock.now = 300.0
    assert windows.take("s1", "westeurope", "deletes")[0]


def test_poll_clock_follows_when_writes_finish_both_ways_and_ignores_an_outlier() -> None:
    clock = PollClock(window=5)
    assert clock.first("nic", 1.0) == 1.0
    for _ in range(3):
        clock.learn("nic", 1.0, looks=6, elapsed=6.2)
    assert clock.first("nic", 1.0) == pytest.approx(6.2)
    clock.learn("nic", 1.0, looks=60, elapsed=60.0)  # one write hung for a minute
    assert clock.first("nic", 1.0) == pytest.approx(6.2)
    for _ in range(5):  # writes got faster: every one done at its first look
        clock.learn("nic", 1.0, looks=1, elapsed=clock.first("nic", 1.0))
    assert clock.first("nic", 1.0) == pytest.approx(6.2 * 0.9)
    assert clock.first("routeTable", 1.0) == 1.0  # kinds are learnt apart
    assert clock.first("nic", 10.0) == 10.0  # never sooner than the poll interval
