"""`python -m bench.readiness` works on a tiny case, and a warm gate adds no Resource Manager read to a failover."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readiness_bench_runs_and_the_warm_gate_reads_nothing(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "bench.readiness", "--scale", "0.02", "--runs", "1", "--tables", "1,3",
                          "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=400, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    results = json.loads((tmp_path / "results-readiness.json").read_text())
    assert results["gate"]["warm"]["permissionReadsDuringFailover"] == 0
    assert results["gate"]["cold"]["emptyCacheGateReads"] > 0  # an empty cache does read: the count is real
    assert results["gate"]["cold"]["permissionReadsDuringFailover"] == 0  # a new instance warmed it in the background
    assert results["gate"]["warm"]["writesDuringFailover"] >= 3
    assert set(results["check"]) == {"1", "3"}
    assert all(c["writes"] == 0 and c["permissionReads"] > 0 for c in results["check"].values())
