"""Appliance-led under chaos: the appliances flip roles on a random schedule with probe loss; Azure follows each single
claim within one period and never moves on a split claim or on no claim."""

from __future__ import annotations

import json
import random
import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from emulation.harness import role_probe

from .lab import Lab

POLICY = {"decider": "appliance", "unhealthyThreshold": 2, "healthyThreshold": 1, "probeTimeoutSeconds": 0.5,
          "reconcileEverySeconds": 3600}


@dataclass
class RoleFigures:
    seconds: float = 0.0
    period_seconds: float = 0.0
    drop_rate: float = 0.0
    runs: int = 0
    flips: int = 0  # moments when exactly one NVA claims and it is not where Azure has the cluster
    followed_by_first_run: int = 0
    followed_by_second_run: int = 0
    not_followed: int = 0
    flip_to_started_seconds: list[float] = field(default_factory=list)
    split_episodes: int = 0
    split_brain_events: int = 0
    moves_during_split: int = 0
    no_claim_episodes: int = 0
    moves_without_claim: int = 0
    converged_at_end: bool = False
    problems: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        took = self.flip_to_started_seconds
        return {"median_flip_to_started_seconds": round(statistics.median(took), 2) if took else None,
                "max_flip_to_started_seconds": round(max(took), 2) if took else None}


def _configure(lab: Lab, form: str) -> None:
    """The lab's hub, appliance-led: a role probe on every NVA."""
    config = json.loads(lab.env["NVA_HA_CONFIG"])
    for nva in config["clusters"][0]["nvas"]:
        nva["role"] = role_probe(lab.nvas[nva["name"]], form)
    lab.env["NVA_HA_CONFIG"] = json.dumps(config)


def _set(lab: Lab, claims: tuple[str, ...], log: list[tuple[float, tuple[str, ...]]], lock: threading.Lock) -> None:
    for name in lab.nvas:  # standbys first: a moment of no claim, never a moment of a false split
        if name not in claims:
            lab.nvas[name].set_role("standby")
    for name in claims:
        lab.nvas[name].set_role("active")
    with lock:
        log.append((time.time(), claims))


def _schedule(rng: random.Random, seconds: float, period: float) -> list[tuple[float, tuple[str, ...]]]:
    """When the appliances change their election: mostly clean flips, sometimes a split or no claim for a while."""
    out: list[tuple[float, tuple[str, ...]]] = []
    t, current = rng.uniform(2, 3) * period, "fw-a"
    while t < seconds - 4 * period:
        kind = rng.random()
        if kind < 0.7:
            current = "fw-b" if current == "fw-a" else "fw-a"
            out.append((t, (current,)))
        else:
            out.append((t, ("fw-a", "fw-b") if kind < 0.85 else ()))
            t += rng.uniform(1.5, 3) * period
            current = rng.choice(["fw-a", "fw-b"])
            out.append((t, (current,)))
        t += rng.uniform(2, 4) * period
    return out


def run_role_flips(lab: Lab, seconds: float = 60.0, period: float = 2.0, drop_rate: float = 0.05, seed: int = 3,
                   form: str = "json") -> RoleFigures:
    """Flip roles for `seconds` on a random schedule while the engine runs every `period` (a compressed schedule)."""
    lab.fresh(POLICY)
    _configure(lab, form)
    figures = RoleFigures(seconds=seconds, period_seconds=period, drop_rate=drop_rate)
    log: list[tuple[float, tuple[str, ...]]] = []
    lock = threading.Lock()
    _set(lab, ("fw-a",), log, lock)
    for nva in lab.nvas.values():
        nva.set_mode("up", drop_rate=drop_rate)
    engine = lab.engine("roles")
    plan = _schedule(random.Random(seed), seconds, period)
    started = time.time()
    stop = threading.Event()

    def flipper() -> None:
        for at, claims in plan:
            if stop.wait(max(0.0, started + at - time.time())):
                return
            _set(lab, claims, log, lock)

    runs: list[tuple[float, float, str]] = []  # (start, end, Azure's active after the run)
    thread = threading.Thread(target=flipper, daemon=True)
    thread.start()
    try:
        next_run = started
        while time.time() < started + seconds:
            time.sleep(max(0.0, next_run - time.time()))
            begin = time.time()
            engine.probe_cycle()
            runs.append((begin, time.time(), engine.status("hub-fw")["active"]))
            next_run += period
    finally:
        stop.set()
        thread.join()
        for nva in lab.nvas.values():
            nva.set_mode("up", drop_rate=0.0)
    figures.runs = len(runs)
    _judge(lab, figures, log, runs)
    engine.probe_cycle()
    final = log[-1][1]
    figures.converged_at_end = len(final) == 1 and lab.converged(engine, final[0])
    for nva in lab.nvas.values():
        nva.set_role("standby")
    return figures


def _judge(lab: Lab, figures: RoleFigures, log: list[tuple[float, tuple[str, ...]]], runs: list[tuple[float, float, str]]) -> None:
    """Each single claim away from Azure's active is followed by the first run after it (or later: counted); no failover
    starts in a run that saw only a split or no claim; one SplitBrain per split episode."""
    started = [r["created"] for r in lab.events.named("FailoverStarted")]
    figures.split_brain_events = len(lab.events.named("SplitBrain"))
    for i, (at, claims) in enumerate(log):
        until = log[i + 1][0] if i + 1 < len(log) else float("inf")
        inside = [r for r in runs if r[0] >= at and r[1] <= until]  # runs that saw only this election
        if len(claims) != 1:
            figures.split_episodes += len(claims) > 1
            figures.no_claim_episodes += not claims
            moved = [s for s in started for r in inside if r[0] <= s <= r[1]]
            if claims:
                figures.moves_during_split += len(moved)
            else:
                figures.moves_without_claim += len(moved)
            continue
        before = [r for r in runs if r[1] <= at]
        azure = before[-1][2] if before else "fw-a"
        if claims[0] == azure:
            continue
        figures.flips += 1
        after = [r for r in runs if r[0] >= at and r[0] < until]
        if after and after[0][2] == claims[0]:
            figures.followed_by_first_run += 1
        elif len(after) > 1 and after[1][2] == claims[0]:
            figures.followed_by_second_run += 1
        else:
            figures.not_followed += 1
            figures.problems.append(f"the claim of {claims[0]} at +{at - log[0][0]:.1f}s was not followed within two runs")
        first = [s for s in started if s >= at and s <= until]
        if first:
            figures.flip_to_started_seconds.append(round(first[0] - at, 3))


def main(argv: list[str] | None = None) -> int:
    """`python -m chaos.roles --seconds 600`: this experiment alone (make chaos runs it with the others)."""
    import argparse
    from dataclasses import asdict

    from .lab import lab

    parser = argparse.ArgumentParser(prog="python -m chaos.roles", description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--period", type=float, default=2.0)
    parser.add_argument("--drop-rate", type=float, default=0.05)
    args = parser.parse_args(argv)
    with lab() as the_lab:
        figures = run_role_flips(the_lab, args.seconds, args.period, args.drop_rate)
    print(json.dumps({**asdict(figures), **figures.summary()}, indent=2))
    return 0 if figures.not_followed == figures.moves_during_split == figures.moves_without_claim == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
