"""`make chaos`: racing actors, skewed and slow actors, crash at every step, a stuck change, injected faults, hostile input, flap damping,
appliance role flips;
figures to chaos/results.json."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from emulation.queuepump import QueuePump, function_handler
from shared.domain.config import parse_config

from .crash import run_crashes
from .faults import run_faults
from .flap import simulate_day, socket_check
from .fuzz import fuzz_config, fuzz_http
from .lab import ROOT, lab
from .race import run_race
from .roles import run_role_flips
from .skew import run_skew
from .stuck import run_stuck

SIZES = {
    "full": {"race_rounds": 20, "skew_rounds": 20, "crash_runs": 3, "http_examples": 1500, "config_examples": 3000,
             "socket_probes": 400, "role_seconds": 600},
    "small": {"race_rounds": 4, "skew_rounds": 4, "crash_runs": 1, "http_examples": 150, "config_examples": 300,
              "socket_probes": 60, "role_seconds": 60},
}


def run(size: str) -> dict[str, Any]:
    n = SIZES[size]
    results: dict[str, Any] = {"size": size}
    with lab() as the_lab:
        t = time.monotonic()
        race = run_race(the_lab, actors=8, rounds=n["race_rounds"])
        results["race"] = {**asdict(race), "seconds": round(time.monotonic() - t, 1)}
        print(f"racing actors: {race.actors} actors, {race.rounds} rounds, {race.transitions} transitions, {race.epochs} epochs; "
              f"double failovers {race.double_failovers}, lost updates {race.lost_updates}, epoch regressions "
              f"{race.epoch_regressions}, duplicate writes {race.duplicate_writes}, writes outside a lock "
              f"{race.writes_outside_a_lock}, most NICs holding the public IP {race.max_nics_holding_public_ip}", flush=True)
        t = time.monotonic()
        skew = run_skew(the_lab, rounds=n["skew_rounds"])
        results["skew"] = {**{k: asdict(v) for k, v in skew.runs.items()}, "seconds": round(time.monotonic() - t, 1)}
        for offset, s in skew.runs.items():
            print(f"skew and latency (one actor's clock {offset}, the other's state requests +1.5 s): {s.rounds} rounds, "
                  f"{s.transitions} transitions, {s.epochs} epochs; most writers of Azure per transition "
                  f"{s.max_writers_per_transition}, overlapping writers {s.transitions_with_overlapping_writers}, double "
                  f"failovers {s.double_failovers}, duplicate writes {s.duplicate_writes}", flush=True)
        t = time.monotonic()
        crash = run_crashes(the_lab, runs=n["crash_runs"])
        results["crash"] = {**asdict(crash), "seconds": round(time.monotonic() - t, 1)}
        print(f"crash at every step: {crash.points} points x {n['crash_runs']} runs, finished by the first scheduled run "
              f"{crash.completed_by_first_scheduled_run}/{crash.runs}, longest crash to converged "
              f"{crash.longest_crash_to_converged_seconds:.2f} s, longest public IP on no NVA after a crash "
              f"{crash.longest_public_ip_detached_after_crash_seconds:.2f} s", flush=True)
        t = time.monotonic()
        stuck = run_stuck(the_lab)
        results["stuck"] = {**asdict(stuck), "seconds": round(time.monotonic() - t, 1)}
        print(f"stuck change: a repair failing {stuck.repairs_failed_before_the_death} times, then the active dies: traffic on "
              f"the healthy standby in {stuck.active_death_to_traffic_on_standby_seconds} s; a locked table, then the standby "
              f"dies: traffic on the healthy NVA in {stuck.standby_death_to_traffic_on_healthy_seconds} s; paused "
              f"{stuck.runs_while_paused} runs: {stuck.writes_while_paused} writes; forced failover while paused "
              f"{stuck.forced_failover_seconds} s", flush=True)
        t = time.monotonic()
        faults = run_faults(the_lab)
        results["faults"] = {**asdict(faults), "seconds": round(time.monotonic() - t, 1)}
        print(f"injected faults: {faults.tried} tried, {faults.converged} converged, {len(faults.unhandled)} unhandled, "
              f"{faults.writes_without_lock} Azure writes without a lock", flush=True)
        the_lab.fresh()
        engine = the_lab.engine("fuzzer")
        engine.probe_cycle()
        engine.probe_cycle()
        sys.path.insert(0, str(ROOT))
        import function_app

        functions = {str(f.get_function_name()): f for f in function_app.app.get_functions()}
        import os

        os.environ.update(the_lab.env)

        def snapshot() -> Any:
            return function_app.runtime.engine().status("hub-fw"), len([r for r in the_lab.arm.control.requests()  # type: ignore[union-attr]
                                                                        if r["method"] == "PUT"])

        t = time.monotonic()
        # The app's executor runs what a valid, non-dry manual failover (an empty body) queues.
        with QueuePump(the_lab.env["AzureWebJobsStorage"], the_lab.env["NVA_HA_QUEUE"],
                       function_handler(functions["execute"].get_user_function())):
            http = fuzz_http(functions, snapshot, n["http_examples"])
        assert the_lab.hub is not None
        config = fuzz_config(the_lab.hub.config, n["config_examples"])
        results["hostile"] = {"http": asdict(http), "config": asdict(config), "seconds": round(time.monotonic() - t, 1)}
        print(f"hostile input: {http.cases} HTTP requests ({dict(sorted(http.answers.items()))}; {http.deeper_than_allowed} "
              f"nested deeper than allowed), 500s {len(http.server_errors)}, "
              f"rejected requests that changed state {len(http.rejected_but_changed)}; {config.cases} configurations "
              f"({config.accepted} accepted, {config.rejected} rejected, {config.deeper_than_allowed} nested too deep), "
              f"errors without a field path {len(config.without_path)}, "
              f"crashes {len(config.crashes)}", flush=True)
        cluster = parse_config(the_lab.hub.config).clusters[0]
        flap = socket_check(the_lab.nvas["fw-a"], cluster, simulate_day(cluster), n["socket_probes"])
        results["flap"] = asdict(flap)
        print(f"flap damping: {flap.cycles} simulated runs (a day at 5 s), 5% of tries lost: {flap.failovers} failovers, "
              f"failed runs {flap.failed_runs}; on a real NVA, {flap.socket_failed_runs}/{flap.socket_probes} failed runs "
              f"with 3 tries against {flap.socket_failed_single_tries}/{flap.socket_probes} with one", flush=True)
        t = time.monotonic()
        roles = run_role_flips(the_lab, seconds=n["role_seconds"])
        results["roles"] = {**asdict(roles), **roles.summary(), "seconds_taken": round(time.monotonic() - t, 1)}
        print(f"appliance role flips: {roles.seconds:g} s, a run every {roles.period_seconds:g} s, {roles.drop_rate:.0%} of probes "
              f"lost: {roles.flips} flips, followed by the first run {roles.followed_by_first_run}, by the second "
              f"{roles.followed_by_second_run}, not followed {roles.not_followed}; flip to FailoverStarted median "
              f"{roles.summary()['median_flip_to_started_seconds']} s, max {roles.summary()['max_flip_to_started_seconds']} s; "
              f"{roles.split_episodes} split episodes, {roles.split_brain_events} SplitBrain, moves during a split "
              f"{roles.moves_during_split}; {roles.no_claim_episodes} times no claim, moves {roles.moves_without_claim}", flush=True)
    return results


def table(results: dict[str, Any]) -> str:
    r, c, f, h, fl = results["race"], results["crash"], results["faults"], results["hostile"], results["flap"]
    rows = [
        ("racing actors", f"{r['actors']} actors x {r['rounds']} rounds, {r['transitions']} transitions, {r['epochs']} epochs",
         f"double failovers {r['double_failovers']}, lost updates {r['lost_updates']}, duplicate writes {r['duplicate_writes']}, "
         f"writes outside a lock {r['writes_outside_a_lock']}, max NICs with the public IP {r['max_nics_holding_public_ip']}"),
        *[(f"skew and latency, clock {k}", f"2 actors x {s['rounds']} rounds, {s['transitions']} transitions, {s['epochs']} epochs",
           f"most writers of Azure per transition {s['max_writers_per_transition']}, overlapping writers "
           f"{s['transitions_with_overlapping_writers']}, double failovers {s['double_failovers']}")
          for k, s in results["skew"].items() if k != "seconds"],
        ("crash at every step", f"{c['points']} points x {c['runs'] // max(1, c['points'])} runs",
         f"finished by the first scheduled run {c['completed_by_first_scheduled_run']}/{c['runs']}, longest crash to converged "
         f"{c['longest_crash_to_converged_seconds']:.2f} s, longest public IP on no NVA after a crash "
         f"{c['longest_public_ip_detached_after_crash_seconds']:.2f} s"),
        *([("stuck change", "a repair that cannot finish, the active dies, a locked table, the standby dies, pause, force",
            f"death to traffic on the healthy NVA {results['stuck']['active_death_to_traffic_on_standby_seconds']} s (active), "
            f"{results['stuck']['standby_death_to_traffic_on_healthy_seconds']} s (standby, the locked table skipped); writes "
            f"while paused {results['stuck']['writes_while_paused']} in {results['stuck']['runs_while_paused']} runs; forced "
            f"failover {results['stuck']['forced_failover_seconds']} s")] if "stuck" in results else []),
        ("injected faults", f"{f['tried']} faults", f"converged {f['converged']}/{f['tried']}, unhandled exceptions "
                                                     f"{len(f['unhandled'])}, Azure writes without a lock {f['writes_without_lock']}"),
        ("hostile input", f"{h['http']['cases']} HTTP requests, {h['config']['cases']} configurations",
         f"answers of 500 {len(h['http']['server_errors'])}, rejected requests that changed state "
         f"{len(h['http']['rejected_but_changed'])}, configuration errors without a field path {len(h['config']['without_path'])}"),
        ("flap damping", f"{fl['cycles']} runs (a simulated day), 5% of probes lost", f"failovers {fl['failovers']}"),
    ]
    if "roles" in results:
        ro = results["roles"]
        rows.append(("appliance role flips", f"{ro['seconds']:g} s, a run every {ro['period_seconds']:g} s, "
                     f"{ro['drop_rate']:.0%} of probes lost",
                     f"{ro['flips']} flips: followed by the first run {ro['followed_by_first_run']}, by the second "
                     f"{ro['followed_by_second_run']}, not {ro['not_followed']} (flip to FailoverStarted median "
                     f"{ro['median_flip_to_started_seconds']} s, max {ro['max_flip_to_started_seconds']} s); "
                     f"{ro['split_episodes']} splits, {ro['split_brain_events']} SplitBrain, moves during a split "
                     f"{ro['moves_during_split']}; moves without a claim {ro['moves_without_claim']}"))
    lines = ["| experiment | size | figures |", "| --- | --- | --- |"] + [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__)
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument("--out", type=Path, default=ROOT / "chaos" / "results.json")
    args = parser.parse_args(argv)
    results = run(args.size)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print("\n" + table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
