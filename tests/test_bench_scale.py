"""`python -m bench.scale` works on a small fleet, and its counts hold: N + 1 table transactions and one event per steady
run (2N and N before), three when one NVA changes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_scale_bench_runs_and_a_run_costs_one_query_and_one_heartbeat(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "bench.scale", "--clusters", "1,10", "--cycles", "2", "--detection-clusters",
                          "10", "--detection-runs", "1", "--out", str(tmp_path)],
                         cwd=ROOT, capture_output=True, text=True, timeout=500, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    results = json.loads((tmp_path / "results-scale.json").read_text())
    for size in results["sizes"]:
        n = size["clusters"]
        assert (size["transactions"], size["reads"], size["writes"]) == (n + 1, 1, n), size
        assert size["transactionsPerClusterRead"] == 2 * n, size
        assert (size["events"], size["eventNames"]) == (1, {"ProbeCycle": 1}), size
        assert size["eventNamesOnChange"] == {"NvaHealthChanged": 1, "ProbeCycle": 2}, size
        assert size["armRequests"] == 0
    (detection,) = results["detection"]
    assert (detection["clusters"], detection["runs"], detection["boundSeconds"]) == (10, 1, 2.5)
    assert "| detection at `*/1 * * * * *`" in (tmp_path / "results-scale.md").read_text()
