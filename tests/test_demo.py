"""`make demo` works: the demo converges and says so (here at a tiny latency scale and a one-second schedule)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_demo_converges_and_leaves_nothing_running() -> None:
    run = subprocess.run([sys.executable, "-m", "demo", "--scale", "0.05", "--schedule", "*/1 * * * * *", "--timeout", "60"],
                         cwd=ROOT, capture_output=True, text=True, timeout=180, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    out = run.stdout
    for step in ("FailoverStarted", "Azure write started", "Azure write completed", "FailoverCompleted", "converged: yes"):
        assert step in out, step
    assert "public IP hub-fw-pip is on: fw-b-untrust/ipconfig1" in out
    leftovers = subprocess.run(["pgrep", "-f", "emulation.nva --address 127.0.0.6"], capture_output=True, text=True, check=False)
    assert leftovers.stdout.strip() == ""
