"""The way existing tools fail over, for comparison: the SDK's default poller, one write after another."""

from __future__ import annotations

import time

from azure.identity import ManagedIdentityCredential
from azure.mgmt.network import NetworkManagementClient

from emulation.topology import Hub


def serial_failover(arm_url: str, hub: Hub, old: str, new: str, new_hop: str, old_hop: str) -> float:
    """Detach, attach, then rewrite each route table in turn, each write awaited with the SDK's default poller
    (which sleeps for the Retry-After Azure sends). Answers the seconds it took."""
    credential = ManagedIdentityCredential()
    clients: dict[str, NetworkManagementClient] = {}

    def client(sub: str) -> NetworkManagementClient:
        if sub not in clients:
            clients[sub] = NetworkManagementClient(credential, sub, base_url=arm_url)
        return clients[sub]

    started = time.monotonic()
    hub_sub = hub.subscriptions[0]
    net = client(hub_sub)
    nic = net.network_interfaces.get("hub-rg", f"{old}-untrust")
    nic.ip_configurations[0].public_ip_address = None
    net.network_interfaces.begin_create_or_update("hub-rg", f"{old}-untrust", nic).result()
    nic = net.network_interfaces.get("hub-rg", f"{new}-untrust")
    nic.ip_configurations[0].public_ip_address = {"id": hub.public_ip}
    net.network_interfaces.begin_create_or_update("hub-rg", f"{new}-untrust", nic).result()
    for table_id in hub.all_tables:
        parts = table_id.split("/")
        ops = client(parts[2])
        table = ops.route_tables.get(parts[4], parts[8])
        changed = False
        for route in table.routes or []:
            if route.next_hop_type == "VirtualAppliance" and route.next_hop_ip_address == old_hop:
                route.next_hop_ip_address = new_hop
                changed = True
        if changed:
            ops.route_tables.begin_create_or_update(parts[4], parts[8], table).result()
    return time.monotonic() - started
