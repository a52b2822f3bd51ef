"""The demo's emulated world, shared by `make demo` and `make console`: Azurite, the emulator, two NVAs, the hub."""

from __future__ import annotations

import os
from contextlib import ExitStack
from dataclasses import dataclass

from emulation.estates import add_vip_and_ipv6
from emulation.harness import ArmEmulator, Azurite, NvaProcess, app_settings, http_probes, role_probe
from emulation.profiles import Profile
from emulation.topology import Hub, two_firewalls


@dataclass
class DemoWorld:
    """What the demo started: Azurite, the emulator, the two NVAs, and the hub seeded in it."""

    azurite: Azurite
    arm: ArmEmulator
    nvas: dict[str, NvaProcess]
    hub: Hub
    extra: dict[str, str]  # the floating IP and IPv6 addresses add_vip_and_ipv6 put in


def start_world(stack: ExitStack, addresses: tuple[str, str], profile: Profile, schedule: str, table: str,
                decider: str = "probes") -> DemoWorld:
    """Start everything (stopped when `stack` closes), seed a production-shaped hub, and set the app's settings in this
    process's environment, as the Functions host would. With `decider` "appliance", the NVAs answer their HA role
    (fw-a active) and Azure follows it."""
    azurite = Azurite.start()
    stack.callback(azurite.stop)
    arm = ArmEmulator.start()
    stack.callback(arm.stop)
    nvas = {}
    for name, address in zip(("fw-a", "fw-b"), addresses, strict=True):
        nvas[name] = NvaProcess.start(address)
        stack.callback(nvas[name].stop)
    hub = two_firewalls(http_probes(nvas, "/health"), subscriptions=2, listed_per_sub=2, discovered_per_sub=1)
    extra = add_vip_and_ipv6(hub)  # a floating VIP with its public IP, and an IPv6 trust leg
    arm.control.seed(hub.resources)
    arm.control.settings(latency=profile.latency, retry_after=profile.retry_after, page_size=4)  # lists page
    config = hub.config
    config["clusters"][0]["policy"] = {"unhealthyThreshold": 2, "healthyThreshold": 2, "probeTimeoutSeconds": 2, "decider": decider}
    if decider == "appliance":
        for nva in config["clusters"][0]["nvas"]:
            nva["role"] = role_probe(nvas[nva["name"]], "json")
        nvas["fw-a"].set_role("active")
    os.environ.update(app_settings(arm, config, azurite.connection_string, table, NVA_HA_PROBE_SCHEDULE=schedule,
                                   NVA_HA_QUEUE="nva-ha-changes"))
    os.environ.pop("NVA_HA_CONFIG_FILE", None)
    return DemoWorld(azurite, arm, nvas, hub, extra)
