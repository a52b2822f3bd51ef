"""Probing keeps clusters apart: a lookup that never answers holds no probe past its deadline and is shared, not
repeated; a run's calls that have not started by its deadline are cancelled, and each cluster has its own threads."""

from __future__ import annotations

import re
import threading
import time

import pytest

from shared.adapters.probe_pools import BoundedResolver, ClusterPools, Lookup
from shared.adapters.probes import NetworkProber
from shared.domain.config import Probe


def hanging(asked: list[str], release: threading.Event) -> Lookup:
    def lookup(host: str, port: int) -> list[str]:
        asked.append(host)
        release.wait()
        return ["127.0.0.1"]
    return lookup


def test_a_lookup_that_never_answers_times_out_and_is_shared_not_repeated() -> None:
    asked: list[str] = []
    release = threading.Event()
    resolver = BoundedResolver(hanging(asked, release))
    try:
        for _ in range(3):
            with pytest.raises(TimeoutError, match=re.escape("name resolution of fw-a.example timed out after 0.05s")):
                resolver.resolve("fw-a.example", 22, 0.05)
        assert asked == ["fw-a.example"]
    finally:
        release.set()
    assert resolver.resolve("FW-A.example", 22, 5) == "127.0.0.1"  # answered at last: the waiting lookup's result
    assert resolver.resolve("10.0.0.4", 22, 0) == "10.0.0.4" and resolver.resolve("fd00:0::4", 22, 0) == "fd00::4"


def test_a_failed_lookup_names_the_host() -> None:
    def refuse(host: str, port: int) -> list[str]:
        raise OSError("[Errno -2] Name or service not known")
    with pytest.raises(OSError, match=r"name resolution of nowhere\.example failed: .*not known"):
        BoundedResolver(refuse).resolve("nowhere.example", 22, 5)


def test_a_probe_whose_name_hangs_answers_within_its_run() -> None:
    asked: list[str] = []
    release = threading.Event()
    prober = NetworkProber(lookup=hanging(asked, release))
    try:
        result = prober.probe_one(Probe(protocol="tcp", address="fw-a.example", port=22), 0.1)
    finally:
        release.set()
    assert not result.ok and result.error is not None and result.error.startswith("name resolution of fw-a.example timed out")


def test_calls_not_started_by_the_deadline_are_cancelled_and_clusters_have_their_own_threads() -> None:
    pools = ClusterPools(floor=1, ceiling=1)
    gate = threading.Event()
    ran: list[str] = []

    def stuck() -> str:
        gate.wait(5)
        return "late"

    def quick(name: str) -> str:
        ran.append(name)
        return "ok"

    try:
        first = pools.gather("sick", {"a": stuck, "b": lambda: quick("b")}, time.monotonic(), lambda n: f"{n} timed out")
        assert first == {"a": "a timed out", "b": "b timed out"}
        # The sick cluster's only thread is still held: another cluster is not behind it.
        assert pools.gather("well", {"c": lambda: quick("c")}, time.monotonic() + 10, lambda n: "timed out") == {"c": "ok"}
    finally:
        gate.set()
    assert pools.gather("sick", {"d": lambda: quick("d")}, time.monotonic() + 10, lambda n: "timed out") == {"d": "ok"}
    assert ran == ["c", "d"], "b was cancelled, never run after its run"
