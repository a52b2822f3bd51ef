"""The chaos race checker's "Never worse" count can fail: a change taken toward an NVA whose last probe failed is found."""

from __future__ import annotations

from typing import Any

from chaos.race import RaceFigures, check


def record(t: float, old: str | None, new: str, journal: dict[str, Any] | None, failures: int, epoch: int = 1) -> dict[str, Any]:
    return {"t": t, "actor": "a", "old": old, "new": new, "epoch": epoch, "phase": "failing_over" if journal else "steady",
            "active": "fw-a", "journal": journal, "health": {"fw-b": {"healthy": True, "failures": failures}}}


def run(failures: int, force: bool = False) -> RaceFigures:
    journal = {"kind": "failover", "epoch": 1, "to": "fw-b", "owner": "a", "force": force}
    history = [record(0.0, None, "e0", None, 0, epoch=0), record(1.0, "e0", "e1", journal, failures),
               record(3.0, "e1", "e2", None, 0)]
    writes = [{"at": 2.0, "path": "/nic/fw-b-untrust", "principal": "a"}]
    return check(history, writes, RaceFigures())


def test_a_change_taken_toward_an_nva_whose_last_probe_failed_is_counted_with_its_writes() -> None:
    assert (run(0).decisions_toward_unhealthy, run(0).writes_toward_unhealthy) == (0, 0)
    bad = run(1)
    assert (bad.decisions_toward_unhealthy, bad.writes_toward_unhealthy) == (1, 1) and "last probe failed" in bad.problems[0]
    assert run(1, force=True).writes_toward_unhealthy == 0, "an operator's force is the one exception"
