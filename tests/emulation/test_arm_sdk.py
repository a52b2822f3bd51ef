"""The unmodified azure-mgmt-network and azure-identity clients against the emulator, including the parts that hurt."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import requests
from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError
from azure.identity import ManagedIdentityCredential
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.network.models import Route

from emulation.harness import ArmEmulator
from emulation.topology import UNRELATED_HOP, rid, two_firewalls

HUB = two_firewalls()
SUB = HUB.subscriptions[0]


def client(arm: ArmEmulator, sub: str = SUB, **kwargs: Any) -> NetworkManagementClient:
    kwargs.setdefault("polling_interval", 0.05)  # used when Retry-After is 0, as these tests set it
    return NetworkManagementClient(ManagedIdentityCredential(), sub, base_url=arm.arm_url, **kwargs)


@pytest.fixture
def seeded(arm: ArmEmulator) -> ArmEmulator:
    arm.control.seed(HUB.resources)
    arm.control.settings(retry_after=0)
    return arm


def test_managed_identity_token_is_required(seeded: ArmEmulator) -> None:
    url = f"{seeded.arm_url}/subscriptions/{SUB}/resourceGroups/hub-rg/providers/Microsoft.Network/networkInterfaces/fw-a-trust"
    resp = requests.get(url, params={"api-version": "2026-03-01"}, verify=seeded.ca_path, timeout=10)
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "AuthenticationFailed"
    assert "Bearer" in resp.headers["WWW-Authenticate"]
    nic = client(seeded).network_interfaces.get("hub-rg", "fw-a-trust")
    assert nic.ip_configurations[0].private_ip_address == "10.0.2.4"
    assert seeded.control.requests()[-1]["principal"] == "system-assigned"


def test_user_assigned_identity_is_the_principal(seeded: ArmEmulator) -> None:
    credential = ManagedIdentityCredential(client_id="11111111-2222-3333-4444-555555555555")
    NetworkManagementClient(credential, SUB, base_url=seeded.arm_url).public_ip_addresses.get("hub-rg", "hub-fw-pip")
    assert seeded.control.requests()[-1]["principal"] == "11111111-2222-3333-4444-555555555555"


def test_move_public_ip_by_updating_nics_keeps_every_other_property(seeded: ArmEmulator) -> None:
    net = client(seeded)
    before = seeded.control.snapshot()
    a = net.network_interfaces.get("hub-rg", "fw-a-untrust")
    a.ip_configurations[0].public_ip_address = None
    detached = net.network_interfaces.begin_create_or_update("hub-rg", "fw-a-untrust", a).result()
    assert detached.ip_configurations[0].public_ip_address is None
    b = net.network_interfaces.get("hub-rg", "fw-b-untrust")
    b.ip_configurations[0].public_ip_address = {"id": HUB.public_ip}
    attached = net.network_interfaces.begin_create_or_update("hub-rg", "fw-b-untrust", b).result()
    assert attached.ip_configurations[0].public_ip_address.id == HUB.public_ip

    pip = net.public_ip_addresses.get("hub-rg", "hub-fw-pip")
    assert pip.ip_configuration.id == attached.ip_configurations[0].id
    after = seeded.control.snapshot()
    for name in ("fw-a-untrust", "fw-b-untrust"):
        key = HUB.nics[name.split("-untrust")[0]]["untrust"].lower()
        old, new = before[key], after[key]
        assert new["etag"] != old["etag"]
        assert new["tags"] == old["tags"]
        for prop in ("enableIPForwarding", "enableAcceleratedNetworking", "networkSecurityGroup", "dnsSettings",
                     "macAddress", "nicType", "disableTcpStateTracking", "resourceGuid"):
            assert new["properties"][prop] == old["properties"][prop], prop
        assert new["properties"]["ipConfigurations"][0]["properties"]["subnet"] == \
            old["properties"]["ipConfigurations"][0]["properties"]["subnet"]


def test_public_ip_in_use_is_refused(seeded: ArmEmulator) -> None:
    net = client(seeded)
    b = net.network_interfaces.get("hub-rg", "fw-b-untrust")
    b.ip_configurations[0].public_ip_address = {"id": HUB.public_ip}
    with pytest.raises(HttpResponseError) as err:
        net.network_interfaces.begin_create_or_update("hub-rg", "fw-b-untrust", b).result()
    assert err.value.status_code == 400
    assert err.value.error is not None and err.value.error.code == "PublicIPAddressInUse"
    assert net.network_interfaces.get("hub-rg", "fw-b-untrust").ip_configurations[0].public_ip_address is None


def test_public_ip_stays_in_use_until_the_detach_completes(seeded: ArmEmulator) -> None:
    seeded.control.settings(latency={"networkInterfaces.write": 1.0})
    net = client(seeded)
    a = net.network_interfaces.get("hub-rg", "fw-a-untrust")
    a.ip_configurations[0].public_ip_address = None
    poller = net.network_interfaces.begin_create_or_update("hub-rg", "fw-a-untrust", a)
    b = net.network_interfaces.get("hub-rg", "fw-b-untrust")
    b.ip_configurations[0].public_ip_address = {"id": HUB.public_ip}
    with pytest.raises(HttpResponseError) as err:
        net.network_interfaces.begin_create_or_update("hub-rg", "fw-b-untrust", b)
    assert err.value.error is not None and err.value.error.code == "PublicIPAddressInUse"
    poller.result()
    net.network_interfaces.begin_create_or_update("hub-rg", "fw-b-untrust", b).result()


def test_one_write_at_a_time_per_resource(seeded: ArmEmulator) -> None:
    seeded.control.settings(latency={"routeTables.write": 1.0})
    net = client(seeded, sub=HUB.subscriptions[0], retry_total=0)
    table = net.route_tables.get("spoke-rg", "spoke1-listed1-rt")
    poller = net.route_tables.begin_create_or_update("spoke-rg", "spoke1-listed1-rt", table)
    with pytest.raises(HttpResponseError) as err:
        net.route_tables.begin_create_or_update("spoke-rg", "spoke1-listed1-rt", table)
    assert err.value.status_code == 429
    assert err.value.error is not None and err.value.error.code == "RetryableErrorDueToAnotherOperation"
    poller.result()


def test_long_running_write_is_updating_until_its_latency_has_passed(seeded: ArmEmulator) -> None:
    seeded.control.settings(latency={"routeTables.write": 0.6})
    net = client(seeded)
    table = net.route_tables.get("spoke-rg", "spoke1-listed1-rt")
    for route in table.routes:
        if route.next_hop_ip_address == "10.0.2.4":
            route.next_hop_ip_address = "10.0.2.5"
    started = time.monotonic()
    poller = net.route_tables.begin_create_or_update("spoke-rg", "spoke1-listed1-rt", table)
    assert net.route_tables.get("spoke-rg", "spoke1-listed1-rt").provisioning_state == "Updating"
    done = poller.result()
    assert time.monotonic() - started >= 0.6
    assert done.provisioning_state == "Succeeded"
    hops = {r.name: (r.next_hop_type, r.next_hop_ip_address) for r in done.routes}
    assert hops["default-via-fw"] == ("VirtualAppliance", "10.0.2.5")
    assert hops["onprem-via-fw"] == ("VirtualAppliance", "10.0.2.5")
    assert hops["kms-direct"] == ("Internet", None)
    assert hops["via-other-nva"] == ("VirtualAppliance", UNRELATED_HOP)
    polls = [r for r in seeded.control.requests() if r["operation"] == "AsyncOperations_Get"]
    assert len(polls) >= 2


def test_write_responses_carry_azure_async_operation_and_retry_after(seeded: ArmEmulator) -> None:
    seeded.control.settings(retry_after=10)
    token = seeded.control.token("raw-client")
    url = f"{seeded.arm_url}{HUB.listed_tables[0]}"
    session = requests.Session()
    session.verify = seeded.ca_path
    session.headers["Authorization"] = f"Bearer {token}"
    table = session.get(url, params={"api-version": "2026-03-01"}, timeout=10).json()
    resp = session.put(url, params={"api-version": "2026-03-01"}, json=table, timeout=10)
    assert resp.status_code == 200
    assert resp.headers["Retry-After"] == "10"
    assert resp.json()["properties"]["provisioningState"] == "Updating"
    status = session.get(resp.headers["Azure-AsyncOperation"], timeout=10)
    assert status.json() in ({"status": "InProgress"}, {"status": "Succeeded"})
    stale = session.put(url, params={"api-version": "2026-03-01"}, json=table, headers={"If-Match": table["etag"]}, timeout=10)
    assert stale.status_code == 412
    assert stale.json()["error"]["code"] == "PreconditionFailed"


def test_routes_create_and_delete(seeded: ArmEmulator) -> None:
    net = client(seeded)
    route = net.routes.begin_create_or_update(
        "spoke-rg", "spoke1-listed1-rt", "extra",
        Route({"properties": {"addressPrefix": "10.10.0.0/16", "nextHopType": "VirtualAppliance", "nextHopIpAddress": "10.0.2.4"}}),
    ).result()
    assert route.provisioning_state == "Succeeded"
    assert {r.name for r in net.routes.list("spoke-rg", "spoke1-listed1-rt")} >= {"extra", "kms-direct"}
    net.routes.begin_delete("spoke-rg", "spoke1-listed1-rt", "extra").result()
    with pytest.raises(HttpResponseError) as err:
        net.routes.get("spoke-rg", "spoke1-listed1-rt", "extra")
    assert err.value.status_code == 404


def test_list_route_tables_across_subscriptions_and_pages(seeded: ArmEmulator) -> None:
    seeded.control.settings(page_size=1)
    names: set[str] = set()
    for sub in HUB.subscriptions:
        names |= {str(t.id).lower() for t in client(seeded, sub=sub).route_tables.list_all()}
    expected = {t.lower() for t in HUB.all_tables + HUB.unrelated_tables + HUB.pinned_tables}
    assert names == expected
    pages = [r for r in seeded.control.requests() if r["operation"] == "RouteTables_ListAll"]
    assert len(pages) == len(expected)


def test_missing_resources_answer_like_azure(seeded: ArmEmulator) -> None:
    net = client(seeded)
    with pytest.raises(HttpResponseError) as err:
        net.network_interfaces.get("hub-rg", "nope")
    assert (err.value.status_code, err.value.error.code) == (404, "ResourceNotFound")  # type: ignore[union-attr]
    with pytest.raises(HttpResponseError) as err:
        net.route_tables.get("no-such-rg", "x")
    assert (err.value.status_code, err.value.error.code) == (404, "ResourceGroupNotFound")  # type: ignore[union-attr]
    b = net.network_interfaces.get("hub-rg", "fw-b-untrust")
    b.ip_configurations[0].public_ip_address = {"id": rid(SUB, "hub-rg", "publicIPAddresses", "ghost")}
    with pytest.raises(HttpResponseError) as err:
        net.network_interfaces.begin_create_or_update("hub-rg", "fw-b-untrust", b)
    assert (err.value.status_code, err.value.error.code) == (400, "InvalidResourceReference")  # type: ignore[union-attr]


def test_rides_out_a_429_storm(seeded: ArmEmulator) -> None:
    seeded.control.fault("throttle", operation="NetworkInterfaces_Get", times=6, retry_after=0.05)
    # azure-core retries an error status 3 times by default (retry_status=3): a longer storm needs more.
    with pytest.raises(HttpResponseError) as err:
        client(seeded).network_interfaces.get("hub-rg", "fw-a-trust")
    assert err.value.status_code == 429
    nic = client(seeded, retry_status=8).network_interfaces.get("hub-rg", "fw-a-trust")
    assert nic.name == "fw-a-trust"
    statuses = [r["status"] for r in seeded.control.requests() if r["operation"] == "NetworkInterfaces_Get"]
    assert statuses == [429] * 6 + [200]


def test_token_bucket_throttles_writes_with_arm_headers(seeded: ArmEmulator) -> None:
    seeded.control.throttle({"writes": (2, 0.5)})
    net = client(seeded, retry_total=0)
    table = net.route_tables.get("spoke-rg", "spoke1-listed1-rt")
    net.route_tables.begin_create_or_update("spoke-rg", "spoke1-listed1-rt", table).result()
    net.route_tables.begin_create_or_update("spoke-rg", "spoke1-found1-rt", table).result()
    with pytest.raises(HttpResponseError) as err:
        net.route_tables.begin_create_or_update("spoke-rg", "spoke1-unrelated-rt", table)
    assert err.value.status_code == 429
    assert err.value.error is not None and err.value.error.code == "SubscriptionRequestsThrottled"
    headers = getattr(err.value.response, "headers", {})
    assert int(headers["Retry-After"]) >= 1
    assert headers["x-ms-ratelimit-remaining-subscription-writes"] == "0"
    # A different subscription has its own bucket.
    other = client(seeded, sub=HUB.subscriptions[1], retry_total=0)
    t2 = other.route_tables.get("spoke-rg", "spoke2-listed1-rt")
    other.route_tables.begin_create_or_update("spoke-rg", "spoke2-listed1-rt", t2).result()


def test_injected_5xx_and_failed_operation(seeded: ArmEmulator) -> None:
    seeded.control.fault("status", operation="RouteTables_CreateOrUpdate", status=503, code="ServiceUnavailable", times=1)
    seeded.control.fault("fail", operation="RouteTables_CreateOrUpdate", code="InternalServerError", times=1)
    net = client(seeded, retry_total=0)
    table = net.route_tables.get("spoke-rg", "spoke1-listed1-rt")
    with pytest.raises(HttpResponseError) as err:
        net.route_tables.begin_create_or_update("spoke-rg", "spoke1-listed1-rt", table)
    assert err.value.status_code == 503
    changed = table.routes[0]
    changed.next_hop_ip_address = "10.0.2.5"
    with pytest.raises(HttpResponseError) as err:
        net.route_tables.begin_create_or_update("spoke-rg", "spoke1-listed1-rt", table).result()
    # As Microsoft.Network does (learn.microsoft.com/azure/networking/troubleshoot-failed-state): the failed write's body
    # is kept, marked Failed, and another PUT of it recovers Succeeded.
    after = net.route_tables.get("spoke-rg", "spoke1-listed1-rt")
    assert after.provisioning_state == "Failed"
    assert after.routes[0].next_hop_ip_address == "10.0.2.5"
    again = net.route_tables.begin_create_or_update("spoke-rg", "spoke1-listed1-rt", after).result()
    assert again.provisioning_state == "Succeeded" and again.routes[0].next_hop_ip_address == "10.0.2.5"


def test_dropped_connection_changes_nothing_and_lost_response_applies(seeded: ArmEmulator) -> None:
    net = client(seeded, retry_total=0)
    table = net.route_tables.get("spoke-rg", "spoke1-listed1-rt")
    table.routes[0].next_hop_ip_address = "10.0.2.5"
    seeded.control.fault("drop", operation="RouteTables_CreateOrUpdate", times=1)
    with pytest.raises((ServiceRequestError, ServiceResponseError)):
        net.route_tables.begin_create_or_update("spoke-rg", "spoke1-listed1-rt", table)
    assert net.route_tables.get("spoke-rg", "spoke1-listed1-rt").routes[0].next_hop_ip_address == "10.0.2.4"
    seeded.control.fault("lose-response", operation="RouteTables_CreateOrUpdate", times=1)
    with pytest.raises((ServiceRequestError, ServiceResponseError)):
        net.route_tables.begin_create_or_update("spoke-rg", "spoke1-listed1-rt", table)
    assert net.route_tables.get("spoke-rg", "spoke1-listed1-rt").routes[0].next_hop_ip_address == "10.0.2.5"


def test_hung_write_waits_until_released(seeded: ArmEmulator) -> None:
    seeded.control.fault("hang", operation="NetworkInterfaces_CreateOrUpdate", times=1)
    net = client(seeded)
    nic = net.network_interfaces.get("hub-rg", "fw-b-trust")
    done = threading.Event()

    def write() -> None:
        net.network_interfaces.begin_create_or_update("hub-rg", "fw-b-trust", nic).result()
        done.set()

    threading.Thread(target=write, daemon=True).start()
    assert not done.wait(0.8)
    assert seeded.control.release() == 0
    assert done.wait(10)


def test_stalled_operation_stays_in_progress_until_released(seeded: ArmEmulator) -> None:
    seeded.control.fault("stall", operation="NetworkInterfaces_CreateOrUpdate", times=1)
    net = client(seeded)
    nic = net.network_interfaces.get("hub-rg", "fw-b-trust")
    poller = net.network_interfaces.begin_create_or_update("hub-rg", "fw-b-trust", nic)
    time.sleep(0.3)
    assert not poller.done()
    assert seeded.control.in_progress() == 1
    assert seeded.control.release() == 1
    assert poller.result().provisioning_state == "Succeeded"


def test_rbac_enforces_actions_and_linked_joins(seeded: ArmEmulator) -> None:
    hub_rg = f"/subscriptions/{SUB}/resourceGroups/hub-rg"
    base = ["Microsoft.Network/networkInterfaces/read", "Microsoft.Network/networkInterfaces/write",
            "Microsoft.Network/virtualNetworks/subnets/join/action", "Microsoft.Network/networkSecurityGroups/join/action",
            "Microsoft.Network/locations/operations/read"]
    # Joining the appliances' own management public IPs (unchanged, but referenced by every write of their NICs) is
    # granted on those IPs alone: the cluster's public IP may not be joined.
    mgmt = [{"scope": m, "actions": ["Microsoft.Network/publicIPAddresses/join/action"]} for m in HUB.management_ips]
    seeded.control.rbac({"system-assigned": [{"scope": hub_rg, "actions": base}, *mgmt]})
    net = client(seeded)
    b = net.network_interfaces.get("hub-rg", "fw-b-untrust")
    with pytest.raises(HttpResponseError) as err:
        net.public_ip_addresses.get("hub-rg", "hub-fw-pip")
    assert (err.value.status_code, err.value.error.code) == (403, "AuthorizationFailed")  # type: ignore[union-attr]
    a = net.network_interfaces.get("hub-rg", "fw-a-untrust")
    a.ip_configurations[0].public_ip_address = None
    net.network_interfaces.begin_create_or_update("hub-rg", "fw-a-untrust", a).result()
    b.ip_configurations[0].public_ip_address = {"id": HUB.public_ip}
    with pytest.raises(HttpResponseError) as err:
        net.network_interfaces.begin_create_or_update("hub-rg", "fw-b-untrust", b)
    assert (err.value.status_code, err.value.error.code) == (403, "LinkedAuthorizationFailed")  # type: ignore[union-attr]
    seeded.control.rbac({"system-assigned": [
        {"scope": hub_rg, "actions": [*base, "Microsoft.Network/publicIPAddresses/join/action"]}]})
    net.network_interfaces.begin_create_or_update("hub-rg", "fw-b-untrust", b).result()


def test_a_readonly_lock_refuses_writes_409_scope_locked_and_a_deleted_table_is_gone(seeded: ArmEmulator) -> None:
    net = client(seeded, retry_total=0)
    table_id = HUB.listed_tables[0]
    seeded.control.locks([table_id])
    table = net.route_tables.get("spoke-rg", "spoke1-listed1-rt")  # reads pass a ReadOnly lock
    with pytest.raises(HttpResponseError) as err:
        net.route_tables.begin_create_or_update("spoke-rg", "spoke1-listed1-rt", table)
    assert (err.value.status_code, err.value.error.code if err.value.error else None) == (409, "ScopeLocked")
    assert table_id in str(err.value.message)
    seeded.control.locks([])
    assert seeded.control.delete(table_id)
    with pytest.raises(HttpResponseError) as gone:
        net.route_tables.get("spoke-rg", "spoke1-listed1-rt")
    assert gone.value.status_code == 404
    assert not seeded.control.delete(table_id)
