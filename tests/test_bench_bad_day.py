"""`python -m bench.bad_day` runs and measures what it says (at a tiny latency scale; figures are not asserted)."""

from __future__ import annotations

from bench.bad_day import one
from emulation.harness import Azurite
from emulation.profiles import Profile


def test_the_bad_day_benchmark_fails_over_and_counts_the_skipped(azurite: Azurite) -> None:
    result = one(azurite, Profile.load("azure", 0.02), True, ["127.0.0.241", "127.0.0.242"])
    # Two NICs and four tables written, two tables refused by Azure (locked, denied); five skipped with the two unread.
    assert (result["day"], result["azureWrites"], result["changes"], result["skipped"]) == ("bad", 8, 6, 5)
