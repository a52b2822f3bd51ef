"""`nva-failover`: arguments, the command they name, and an exit code that says how it went."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from . import render
from .client import Api, ApiError, CliError, Unreachable
from .offline import Invalid, plan, read_config, summary
from .watch import watch

EXIT_CODES = """exit codes:
  0  done (check: ready; validate: valid)
  1  failed: the app answered an error, the configuration is invalid, Azure could not be read
  2  usage: bad arguments, no URL or key, a file that cannot be read
  3  unreachable: no answer from the app (refused, timed out, DNS, TLS)
  4  not ready or refused for safety: check found a failing check; the app answered 409
     (TargetUnhealthy, NoHealthyTarget, FailoverInProgress, a blocked failover)
  5  unauthorized: the app refused the function key (401/403), or no Azure sign-in for plan
"""
ENVIRONMENT = """environment:
  NVA_FAILOVER_URL   the function app, e.g. https://<app>.azurewebsites.net (--url)
  NVA_FAILOVER_KEY   a function key of the app (--key)
  NVA_HA_ARM_ENDPOINT  Resource Manager endpoint for plan (--arm-endpoint), default https://management.azure.com
"""


def _positive(kind: type[int] | type[float], low: float, high: float | None = None) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{text} is out of range ({low:g}-{high:g})" if high else f"must be at least {low:g}")
        return value
    return parse


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print JSON for scripts instead of tables")
    remote = argparse.ArgumentParser(add_help=False)
    remote.add_argument("--url", default=os.environ.get("NVA_FAILOVER_URL"), help="the function app's URL (NVA_FAILOVER_URL)")
    remote.add_argument("--key", default=os.environ.get("NVA_FAILOVER_KEY"), help="a function key (NVA_FAILOVER_KEY)")
    remote.add_argument("--timeout", type=_positive(float, 0.1), help="seconds to wait for an answer (default: 30; check 120; failover 600)")
    main = argparse.ArgumentParser(prog="nva-failover", description="Operate nva-failover: the app's HTTP API, and offline checks.",
                                   epilog=EXIT_CODES + "\n" + ENVIRONMENT, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = main.add_subparsers(dest="command", required=True, metavar="COMMAND")
    both = [common, remote]

    def command(name: str, parents: list[argparse.ArgumentParser], text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=parents, help=text, description=text[0].upper() + text[1:] + ".", epilog=EXIT_CODES,
                              formatter_class=argparse.RawDescriptionHelpFormatter)

    p = command("status", both, "every cluster's status, or one cluster's in detail")
    p.add_argument("cluster", nargs="?")
    p = command("history", both, "a cluster's failovers, newest first")
    p.add_argument("cluster")
    p.add_argument("--limit", type=_positive(int, 1, 200), default=20, help="how many (1-200, default 20)")
    p = command("check", both, "readiness now: could a failover to every standby succeed? (exit 4 if not)")
    p.add_argument("cluster")
    p = command("failover", both, "fail over by hand (default target: the healthiest standby)")
    p.add_argument("cluster")
    p.add_argument("--target", help="the NVA to make active")
    p.add_argument("--dry-run", action="store_true", help="list the writes it would make; change nothing")
    p.add_argument("--force", action="store_true", help="even to an NVA that is not healthy, or whose writes are not all permitted")
    p.add_argument("--reason", help="recorded with the failover")
    p = command("pause", both, "stop automatic changes (probing goes on; a manual failover still works)")
    p.add_argument("cluster")
    p.add_argument("--reason", help="why, recorded with the event")
    p = command("resume", both, "return to automatic operation")
    p.add_argument("cluster")
    p = command("watch", both, "a live view of status, with the events seen between polls")
    p.add_argument("cluster", nargs="?")
    p.add_argument("--interval", type=_positive(float, 0.1), default=5.0, help="seconds between polls (default 5)")
    p.add_argument("--count", type=_positive(int, 0), default=0, help="stop after this many polls (default 0: until Ctrl-C)")
    p = command("validate", [common], "check a configuration file offline, with the app's own parser")
    p.add_argument("config", metavar="CONFIG.json")
    p = command("plan", [common], "what a failover would write, read from live Azure with your sign-in; writes nothing")
    p.add_argument("config", metavar="CONFIG.json")
    p.add_argument("--to", required=True, help="the NVA to plan a failover to")
    p.add_argument("--cluster", help="the cluster (needed when the configuration has several)")
    p.add_argument("--arm-endpoint", default=os.environ.get("NVA_HA_ARM_ENDPOINT") or "https://management.azure.com",
                   help="Resource Manager (NVA_HA_ARM_ENDPOINT; default https://management.azure.com)")
    p.add_argument("--timeout", type=_positive(float, 0.1), default=60.0, help="seconds the reads may take (default 60)")
    return main


class Out:
    """Where answers go: a table for people, JSON for scripts."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    def show(self, data: Any, text: Callable[[Any], str]) -> None:
        print(json.dumps(data, indent=2) if self.as_json else text(data))


def _api(args: argparse.Namespace) -> Api:
    return Api(args.url, args.key, args.timeout)


def run(args: argparse.Namespace) -> int:
    out = Out(args.json)
    command = args.command
    if command == "validate":
        config = read_config(args.config)
        out.show({"valid": True, "clusters": summary(config)}, lambda d: "\n".join(
            [f"{args.config}: valid"] + [f"  {c['cluster']}: NVAs {', '.join(c['nvas'])} (preferred {c['preferred']}); "
                                         f"{c['publicIps']} public IP(s), {c['routeTables']} route table(s), "
                                         f"discovery in {c['discoverySubscriptions']} subscription(s)" for c in d["clusters"]]))
        return 0
    if command == "plan":
        result = plan(args.config, args.to, args.cluster, args.arm_endpoint, args.timeout)
        on = ", ".join(f"{render.short(p)} on {nva or 'no NVA'}" for p, nva in result.holders.items()) or "no public IPs"
        out.show(result.as_json(), lambda d: f"{d['cluster']}: plan of a failover to {d['to']} (now: {on}); nothing written\n"
                 + render.changes(d["changes"]))
        return 0
    api = _api(args)
    if command == "status":
        if args.cluster:
            out.show(api.status(args.cluster), render.status)
        else:
            out.show({"clusters": api.clusters()}, lambda d: render.clusters(d["clusters"]))
        return 0
    if command == "history":
        out.show(api.history(args.cluster, args.limit), render.history)
        return 0
    if command == "check":
        readiness = api.check(args.cluster)
        out.show(readiness, render.readiness)
        return 0 if readiness.get("ready") else 4
    if command == "failover":
        body: dict[str, Any] = {"dryRun": args.dry_run, "force": args.force}
        body.update({k: v for k, v in (("target", args.target), ("reason", args.reason)) if v})
        try:
            answer = api.failover(args.cluster, body)
        except Unreachable as err:
            if args.dry_run:
                raise
            raise Unreachable(f"{err.message}; the failover may have started: see `nva-failover status {args.cluster}`") from None
        out.show(answer, render.failover)
        return 0
    if command == "pause":
        out.show(api.pause(args.cluster, args.reason), render.status)
        return 0
    if command == "resume":
        out.show(api.resume(args.cluster), render.status)
        return 0
    assert command == "watch"
    return watch(api, args.cluster, args.interval, args.count, sys.stdout, args.json, live=sys.stdout.isatty() and not args.json)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)  # exits 2 on a usage error, as argparse does
    logging.getLogger("azure").setLevel(logging.ERROR)  # the SDK's retries and credential chain: our own message says it
    try:
        return run(args)
    except CliError as err:
        if args.json:
            problem: dict[str, Any] = err.as_json() if isinstance(err, ApiError) else {
                "error": {"code": type(err).__name__, "message": err.message}}
            if isinstance(err, Invalid):
                problem = {"valid": False, "errors": err.problems}
            print(json.dumps(problem, indent=2))
        print(f"nva-failover: {err.message}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        return 130

