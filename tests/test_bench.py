"""`make bench` works: on a tiny case it measures every figure and writes both result files (the figures are not judged here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_runs_on_a_tiny_case(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "bench", "--quick", "--out", str(tmp_path)], cwd=ROOT, capture_output=True,
                         text=True, timeout=400, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert set(results) >= {"detection", "actuation", "sideBySide", "throttled", "calls", "startup", "floating"}
    assert set(results["actuation"]) == {"1", "3"}
    for calls in results["calls"].values():
        assert calls["writesPerSteadyCycle"] == 0
        assert calls["writesPerFailover"] >= 3  # detach, attach and at least one route table
    throttled = results["throttled"]  # the bucket did bite: 26 writes through a bucket of 10 refilled 20/s take >= 0.8 s
    assert throttled["writes"] >= throttled["writesExpected"] and throttled["seconds"] >= (throttled["writesExpected"] - 10) / 20
    assert results["floating"]["writesPerFailover"] == 2  # remove on one NIC, add on the other
    assert results["detection"]["medianSeconds"] > 0
    assert (tmp_path / "results.md").read_text().startswith("# Benchmark results")
