"""Racing actors: 8 processes probing and failing over one cluster through random failure rounds; a checker over the history."""

from __future__ import annotations

import itertools
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .lab import ROOT, Lab, Watcher


@dataclass
class RaceFigures:
    actors: int = 0
    rounds: int = 0
    transitions: int = 0
    epochs: int = 0
    double_failovers: int = 0
    lost_updates: int = 0
    epoch_regressions: int = 0
    max_nics_holding_public_ip: int = 0
    duplicate_writes: int = 0
    writes_outside_a_lock: int = 0
    unanswered_writes_that_landed: int = 0  # state writes whose answer was lost (timed out) that the chain shows landed
    max_writers_per_transition: int = 0  # distinct actors writing Azure within one lock (one failover or repair)
    decisions_toward_unhealthy: int = 0  # a change taken (locked, resumed, claimed) toward an NVA whose last probe failed
    writes_toward_unhealthy: int = 0  # Azure writes made under such a decision
    transitions_with_several_writers: int = 0
    transitions_with_overlapping_writers: int = 0  # two actors writing Azure at once (one after the other is a handover)
    converged: bool = False
    problems: list[str] = field(default_factory=list)


def check(history: list[dict[str, Any]], writes: list[dict[str, Any]], figures: RaceFigures) -> RaceFigures:
    """The history must be one ETag chain; epochs only grow along it; each epoch starts once; writes sit inside locks, once."""
    unanswered = {rec["old"] for rec in history if rec.get("uncertain")}  # saves that timed out: they may have landed
    history = [rec for rec in history if not rec.get("uncertain")]
    successors: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for rec in history:
        successors[rec["old"]].append(rec)
    figures.transitions = len(history)
    figures.lost_updates = sum(len(v) - 1 for v in successors.values() if len(v) > 1)
    produced = {rec["new"] for rec in history}
    orphans = sorted((r for r in history if r["old"] is not None and r["old"] not in produced), key=lambda r: r["t"])
    chain: list[dict[str, Any]] = []
    etag: str | None = None
    seen: set[str | None] = set()
    while etag not in seen:
        seen.add(etag)
        if successors.get(etag):
            rec = successors[etag][0]
        elif etag in unanswered and orphans:  # a write whose answer was lost landed: the chain goes on after it
            rec = orphans.pop(0)
            figures.unanswered_writes_that_landed += 1
        else:
            break
        chain.append(rec)
        etag = rec["new"]
    if len(chain) != len(history):
        figures.problems.append(f"{len(history) - len(chain)} recorded writes are off the ETag chain")
    starts: Counter[int] = Counter()
    windows: list[tuple[float, float, str]] = []
    opened: dict[str, Any] | None = None
    for prev, rec in zip([None, *chain], chain, strict=False):
        if prev is not None and rec["epoch"] < prev["epoch"]:
            figures.epoch_regressions += 1
        if prev is not None and rec["epoch"] == prev["epoch"] + 1:
            starts[rec["epoch"]] += 1
        journal, before = rec["journal"], (prev or {}).get("journal")
        if journal and (before is None or (before["kind"], before["epoch"]) != (journal["kind"], journal["epoch"])):
            opened = rec
        if journal is None and before is not None and opened is not None:
            windows.append((opened["t"], rec["t"], f"{before['kind']}#{before['epoch']}"))
            opened = None
    if opened is not None:
        windows.append((opened["t"], float("inf"), "open"))
    figures.epochs = max((r["epoch"] for r in chain), default=0)
    figures.double_failovers = sum(n - 1 for n in starts.values() if n > 1)
    per_window: Counter[tuple[str, str]] = Counter()
    writers: dict[str, dict[str, list[float]]] = defaultdict(dict)  # window -> actor -> [first, last] write
    for w in writes:
        inside = [name for start, end, name in windows if start - 0.05 <= w["at"] <= end + 0.05]
        if not inside:
            figures.writes_outside_a_lock += 1
            figures.problems.append(f"write outside any lock: {w['path']} at {w['at']}")
            continue
        per_window[(inside[0], w["path"].lower())] += 1
        span = writers[inside[0]].setdefault(str(w.get("principal")), [w["at"], w["at"]])
        span[0], span[1] = min(span[0], w["at"]), max(span[1], w["at"])
    figures.duplicate_writes = sum(n - 1 for n in per_window.values() if n > 1)
    toward_unhealthy(chain, writes, windows, figures)
    figures.max_writers_per_transition = max((len(v) for v in writers.values()), default=0)
    figures.transitions_with_several_writers = sum(len(v) > 1 for v in writers.values())
    figures.transitions_with_overlapping_writers = sum(_overlapping(list(v.values())) for v in writers.values())
    figures.problems += [f"{name}: written by {sorted(v)}" for name, v in writers.items() if len(v) > 1]
    return figures


def toward_unhealthy(chain: list[dict[str, Any]], writes: list[dict[str, Any]], windows: list[tuple[float, float, str]],
                     figures: Any) -> None:
    """Contract §6 "Never worse": every record that takes a change (opens its lock, resumes or claims it: a new owner) must
    see its target healthy now, its verdict healthy and its latest probe answered, unless forced; and every Azure write
    of a lock is made under such a decision."""
    taken: list[tuple[float, str, bool]] = []  # (when, the lock's window name, its target healthy now)
    before: dict[str, Any] | None = None
    for rec in chain:
        journal = rec.get("journal")
        owner = journal["owner"] if journal else None
        if journal and owner != "RELEASED" and (before is None or (before["kind"], before["epoch"], before["owner"])
                                                 != (journal["kind"], journal["epoch"], owner)):
            h = (rec.get("health") or {}).get(journal["to"]) or {}
            ok = bool(journal.get("force")) or (h.get("healthy") is True and h.get("failures", 0) == 0)
            taken.append((rec["t"], f"{journal['kind']}#{journal['epoch']}", ok))
            if not ok:
                figures.decisions_toward_unhealthy += 1
                figures.problems.append(f"{journal['kind']} #{journal['epoch']} taken by {rec['actor']} toward "
                                        f"{journal['to']} whose last probe failed: {h}")
        before = journal
    for w in writes:
        inside = [name for start, end, name in windows if start - 0.05 <= w["at"] <= end + 0.05]
        decisions = [ok for t, name, ok in taken if inside and name == inside[0] and t <= w["at"] + 0.05]
        if decisions and not decisions[-1]:
            figures.writes_toward_unhealthy += 1


def _overlapping(spans: list[list[float]]) -> bool:
    ordered = sorted(spans)
    return any(b[0] <= a[1] for a, b in itertools.pairwise(ordered))


def run_race(lab: Lab, actors: int = 8, rounds: int = 20, round_seconds: float = 2.0, seed: int = 1,
             variants: list[dict[str, Any]] | None = None, arm_latency: dict[str, float] | None = None) -> RaceFigures:
    """`variants`: one per actor (then `actors` is their number), each with extra `args` for chaos.actor (`skew=3`) and
    `env` (another AzureWebJobsStorage, say). `arm_latency`: the emulator's write latencies, when not the lab's."""
    rng = random.Random(seed)
    actors = len(variants) if variants else actors
    lab.fresh()
    assert lab.arm is not None and lab.hub is not None
    if arm_latency:
        lab.arm.control.settings(latency=arm_latency, retry_after=10)
    figures = RaceFigures(actors=actors, rounds=rounds)
    work = Path(tempfile.mkdtemp(prefix="race-"))
    history, stop = work / "history.jsonl", work / "stop"
    procs = []
    with Watcher(lab.arm, lab.hub.public_ip) as watcher:
        for i in range(actors):
            variant = variants[i] if variants else {}
            env = {**os.environ, **lab.env, "AZURE_CLIENT_ID": f"actor-{i}", "PYTHONPATH": str(ROOT), **variant.get("env", {})}
            procs.append(subprocess.Popen([sys.executable, "-m", "chaos.actor", f"actor-{i}", str(history), str(stop), str(seed + i),
                                           *variant.get("args", [])],
                                          env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        time.sleep(3)  # let them start and see the NVAs healthy
        for _ in range(rounds):
            a, b = (rng.choices(["up", "down", "http503", "hang"], weights=[5, 2, 1, 1])[0] for _ in range(2))
            lab.nvas["fw-a"].set_mode(a)
            lab.nvas["fw-b"].set_mode(b if a == "up" or rng.random() < 0.3 else "up")
            time.sleep(round_seconds)
        for nva in lab.nvas.values():
            nva.set_mode("up")
        time.sleep(3)
        stop.touch()
        outputs = [p.communicate(timeout=60) for p in procs]
        figures.max_nics_holding_public_ip = watcher.max_holders
    crashed = [err[-800:] for p, (_, err) in zip(procs, outputs, strict=True) if p.returncode != 0]
    figures.problems += [f"actor crashed: {c}" for c in crashed]
    records = [json.loads(line) for line in history.read_text().splitlines() if line.strip()]
    writes = [r for r in lab.arm.control.requests() if r["method"] == "PUT" and r["status"] in (200, 201)]
    check(records, writes, figures)
    engine = lab.engine("checker")
    for _ in range(6):
        engine.probe_cycle()
        active = engine.status("hub-fw")["active"]
        if lab.converged(engine, active):
            figures.converged = True
            break
        time.sleep(0.5)
    return figures
