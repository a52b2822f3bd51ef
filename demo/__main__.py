"""Runs the demo: emulated Azure with a realistic (scaled) latency profile, two NVAs, the real timer on its schedule."""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import sys
import threading
import time
from contextlib import ExitStack
from datetime import UTC, datetime

from emulation.harness import ArmEmulator
from emulation.profiles import Profile
from emulation.queuepump import QueuePump, function_handler
from emulation.topology import Hub
from shared.domain.schedule import Schedule

from .world import start_world


class Timeline(logging.Handler):
    """Prints the engine's events and Azure writes as they happen, with the time since the demo started."""

    def __init__(self, started: float) -> None:
        super().__init__(logging.INFO)
        self.started = started
        self.seen: dict[str, float] = {}
        self.writes = 0
        self._print_lock = threading.Lock()  # not self.lock: logging.Handler holds that one around emit()

    def say(self, text: str) -> None:
        with self._print_lock:
            print(f"[{time.monotonic() - self.started:6.1f}s] {text}", flush=True)

    def emit(self, record: logging.LogRecord) -> None:
        name = getattr(record, "microsoft.custom_event.name", None)
        if name is None:
            if record.msg.startswith("write ") and isinstance(record.args, tuple) and len(record.args) >= 2:
                action, resource = str(record.args[0]), str(record.args[1])
                parts = resource.split("/")
                where = f"sub …{parts[2][-4:]} {parts[4]}/{parts[-1]}" if len(parts) > 8 else resource
                done = record.msg.startswith("write completed")
                self.writes += done
                took = f" in {record.args[2]:.1f} s" if done and len(record.args) > 2 else ""
                self.say(f"    Azure write {'completed' if done else 'started  '}: {action:15} {where}{took}")
            return
        self.seen.setdefault(name, time.monotonic())
        f = record.__dict__
        if name == "ProbeCycle" and f["cluster"] == "*":
            self.say(f"probe run: {f['clusters']} cluster(s), {f['serving']} with a healthy active, {f['durationMs']} ms")
        elif name == "ProbeCycle":
            self.say(f"  {f['cluster']} changed: active {f['active']}, healthy {json.loads(f['healthy'])} ({f['outcome']})")
        elif name == "NvaHealthChanged":
            self.say(f"{name}: {f['nva']} healthy={f['healthy']}" + (f" ({f['error']})" if f.get("error") else ""))
        elif name == "FailoverStarted":
            self.say(f"{name}: epoch {f['epoch']}, {f['from']} -> {f['to']} ({f['reason']})")
        elif name == "FailoverCompleted":
            self.say(f"{name}: epoch {f['epoch']}, {f['from']} -> {f['to']} in {f['durationMs']} ms, "
                     f"{len(json.loads(f['changes']))} resources changed")
        else:
            keys = ("nva", "to", "step", "error", "resource", "ready", "failing")
            self.say(f"{name}: " + ", ".join(f"{k}={f[k]}" for k in keys if k in f))


def readback(arm: ArmEmulator, hub: Hub, active: str, trust_ip: str, extra: dict[str, str]) -> bool:
    """Print where the public IP and the VIP are and where each route points, from the emulator; True when all is on
    `active` (IPv6 hops compared as addresses)."""
    snapshot = arm.control.snapshot()
    ok = True
    vip = [f"{b['name']}/{c['name']} ({c['properties']['privateIPAddress']}, public IP "
           f"{(c['properties'].get('publicIPAddress') or {}).get('id', '-').rsplit('/', 1)[-1]})"
           for b in snapshot.values() if b["type"].endswith("networkInterfaces")
           for c in b["properties"]["ipConfigurations"] if c["name"] == "vip-web"]
    ok &= len(vip) == 1 and vip[0].startswith(f"{active}-untrust/") and extra["vipPublicIp"].rsplit("/", 1)[-1] in vip[0]
    print(f"  floating IP vip-web is on: {', '.join(vip) or 'nothing'}")
    holders = [
        f"{b['name']}/{c['name']}" for b in snapshot.values() if b["type"].endswith("networkInterfaces")
        for c in b["properties"]["ipConfigurations"]
        if (c["properties"].get("publicIPAddress") or {}).get("id", "").lower() == hub.public_ip.lower()
    ]
    ok &= holders == [f"{active}-untrust/ipconfig1"]
    print(f"  public IP {hub.public_ip.rsplit('/', 1)[-1]} is on: {', '.join(holders) or 'nothing'}")
    for table in hub.all_tables + hub.unrelated_tables:
        body = snapshot[table.lower()]
        routes = {r["name"]: r["properties"].get("nextHopIpAddress") or r["properties"]["nextHopType"]
                  for r in body["properties"]["routes"]}
        owned = {k: v for k, v in routes.items() if k.endswith("-via-fw")}
        ok &= all(ipaddress.ip_address(v) == ipaddress.ip_address(extra[f"{active}6"] if ":" in v else trust_ip)
                  for v in owned.values())
        sub = table.split("/")[2][-4:]
        print(f"  sub …{sub} {body['name']:22} " + ", ".join(f"{k} -> {v}" for k, v in routes.items()))
    seeded = {r["id"].lower(): r for r in hub.resources}
    for table in hub.pinned_tables:  # beside managed tables, pointing at the NVAs, but not the cluster's: never written
        body = snapshot[table.lower()]
        before = seeded[table.lower()]["properties"]["routes"]
        same = [(r["name"], r["properties"].get("nextHopIpAddress")) for r in body["properties"]["routes"]] == [
            (r["name"], r["properties"].get("nextHopIpAddress")) for r in before]
        ok &= same
        print(f"  not managed: {body['name']:22} {'unchanged' if same else 'CHANGED'}")
    for pip in hub.management_ips:
        holder = (snapshot[pip.lower()]["properties"].get("ipConfiguration") or {}).get("id", "nothing")
        ok &= pip.rsplit("/", 1)[-1].removesuffix("-mgmt-pip") in holder
        print(f"  management IP {pip.rsplit('/', 1)[-1]} stays on {holder.split('/networkInterfaces/')[-1]}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__)
    parser.add_argument("--scale", type=float, default=0.5, help="latency profile scale (1 = Azure's figures)")
    parser.add_argument("--schedule", default="*/5 * * * * *", help="NVA_HA_PROBE_SCHEDULE (NCRONTAB, six fields)")
    parser.add_argument("--timeout", type=float, default=100, help="seconds to wait for the failover to converge")
    parser.add_argument("--decider", choices=("probes", "appliance"), default="probes",
                        help="probes: stop fw-a, the controller fails over; appliance: both stay up, the appliances make "
                             "fw-b active and Azure follows")
    args = parser.parse_args(argv)
    profile = Profile.load("azure", args.scale)
    schedule = Schedule(args.schedule)
    started = time.monotonic()
    timeline = Timeline(started)
    for name in ("nva_failover.events", "nva_failover.network"):
        logging.getLogger(name).addHandler(timeline)
        logging.getLogger(name).setLevel(logging.INFO)
    with ExitStack() as stack:
        timeline.say("starting Azurite, the Resource Manager emulator and two simulated NVAs")
        world = start_world(stack, ("127.0.0.61", "127.0.0.62"), profile, args.schedule, "nvahademo", args.decider)
        azurite, arm, nvas, hub, extra = world.azurite, world.arm, world.nvas, world.hub, world.extra
        nic, rt = profile.seconds("networkInterfaces.write"), profile.seconds("routeTables.write")
        timeline.say(f"latency profile azure x {args.scale:g}: NIC write {nic:.1f} s, route table write {rt:.1f} s, "
                     f"reads {profile.seconds('read') * 1000:.0f} ms, Retry-After {profile.describe_retry_after()}")
        timeline.say(f"hub-fw: fw-a ({nvas['fw-a'].address}) active, fw-b ({nvas['fw-b'].address}) standby; "
                     f"{len(hub.all_tables)} managed route tables in {len(hub.subscriptions)} subscriptions "
                     f"({len(hub.discovered_tables)} found by discovery), {len(hub.unrelated_tables)} unrelated, "
                     f"{len(hub.pinned_tables)} pointing at the NVAs but not managed; "
                     f"floating IP vip-web (10.0.1.10) on fw-a's untrust NIC; IPv6 trust leg {extra['fw-a6']}")

        import function_app  # the real app: its registered timer function is what runs
        registered = {f.get_function_name(): f for f in function_app.app.get_functions()}  # may be read once per process
        probe = registered["probe"]
        binding = json.loads(probe.get_function_json())["bindings"][0]
        timer = probe.get_user_function()
        from azure.functions.timer import TimerRequest

        timeline.say(f"timer 'probe' bound to {binding['schedule']} = {args.schedule!r}")
        execute = registered["execute"]
        # The host's queue listener: the timer locks a failover and queues it; the registered `execute` carries it out.
        listener = QueuePump(azurite.connection_string, "nva-ha-changes", function_handler(execute.get_user_function()),
                             interval=0.1, max_interval=0.25).start()
        stack.callback(listener.stop)
        timeline.say("queue trigger 'execute' listening on nva-ha-changes (polling an empty queue every 0.25 s at most, as host.json says)")
        stopped_at: float | None = None
        runs = 0
        deadline = started + args.timeout + 60
        while time.monotonic() < deadline:
            now = datetime.now(UTC)
            fire = schedule.next_after(now)
            time.sleep(max(0.0, (fire - datetime.now(UTC)).total_seconds()))
            timer(TimerRequest())
            runs += 1
            status = function_app.runtime.engine().status("hub-fw")
            healthy = [n["name"] for n in status["nvas"] if n["healthy"]]
            if stopped_at is None and healthy == ["fw-a", "fw-b"] and args.decider == "appliance":
                timeline.say(">>> the appliances elect fw-b (fw-a answers standby, fw-b active); both stay up")
                nvas["fw-a"].set_role("standby")
                nvas["fw-b"].set_role("active")
                stopped_at = time.monotonic()
            elif stopped_at is None and healthy == ["fw-a", "fw-b"]:
                timeline.say(">>> stopping fw-a: its probe port now refuses connections")
                nvas["fw-a"].set_mode("down")
                stopped_at = time.monotonic()
            if status["phase"] == "steady" and status["active"] == "fw-b":
                break
            if stopped_at is not None and time.monotonic() - stopped_at > args.timeout:
                break
        print("\nAzure, read back from the emulator:")
        converged = readback(arm, hub, "fw-b", "10.0.2.5", extra)
        started_at, completed_at = timeline.seen.get("FailoverStarted"), timeline.seen.get("FailoverCompleted")
        detection = (started_at - stopped_at) if started_at and stopped_at else None
        failover = (completed_at - started_at) if completed_at and started_at else None
        first = schedule.next_after(datetime.now(UTC))
        interval = (schedule.next_after(first) - first).total_seconds()
        bound = interval * 2 + 2 if args.decider == "probes" else interval + 2
        limit = max(2 * nic, rt)
        how = f"{interval:.0f} s x 2 + 2 s timeout" if args.decider == "probes" else f"one period {interval:.0f} s + 2 s timeout"
        print(
            f"\nsummary: {'detection' if args.decider == 'probes' else 'role flip to FailoverStarted'} "
            f"{detection or float('nan'):.1f} s (bound {bound:.0f} s = {how}), "
            f"failover {failover or float('nan'):.1f} s (physical limit {limit:.1f} s: detach then attach, "
            f"{2 * nic:.1f} s, in parallel with route tables, {rt:.1f} s), {timeline.writes} Azure writes, "
            f"{runs} timer runs, converged: {'yes' if converged and completed_at else 'NO'}"
        )
        return 0 if converged and completed_at else 1


if __name__ == "__main__":
    sys.exit(main())
