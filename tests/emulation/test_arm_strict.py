"""The emulator is as strict as recorded Azure (issue 16): each behaviour, through the unmodified SDK where it fits.

What each behaviour follows is cited in emulation/arm/strict.py, oplinks.py and emulation/profiles/azure.json.
"""

from __future__ import annotations

import copy
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.identity import ManagedIdentityCredential
from azure.mgmt.network import NetworkManagementClient

from emulation.harness import ArmEmulator
from emulation.topology import rid, two_firewalls

HUB = two_firewalls()
SUB = HUB.subscriptions[0]
API = {"api-version": "2026-03-01"}
NIC_B = HUB.nics["fw-b"]["untrust"]
SUBNET = rid(SUB, "hub-rg", "virtualNetworks", "hub-vnet") + "/subnets/untrust"
NSG = rid(SUB, "hub-rg", "networkSecurityGroups", "untrust-nsg")


def client(arm: ArmEmulator, **kwargs: Any) -> NetworkManagementClient:
    kwargs.setdefault("polling_interval", 0.05)
    return NetworkManagementClient(ManagedIdentityCredential(), SUB, base_url=arm.arm_url, **kwargs)


class Raw:
    """Plain HTTPS calls, for what the SDK hides (headers, bodies as sent)."""

    def __init__(self, arm: ArmEmulator, principal: str = "raw-client") -> None:
        self.arm = arm
        self.session = requests.Session()
        self.session.verify = arm.ca_path
        self.session.headers["Authorization"] = f"Bearer {arm.control.token(principal)}"

    def get(self, path: str) -> requests.Response:
        return self.session.get(f"{self.arm.arm_url}{path}", params=API, timeout=10)

    def put(self, path: str, body: dict[str, Any], **headers: str) -> requests.Response:
        return self.session.put(f"{self.arm.arm_url}{path}", params=API, json=body, headers=headers, timeout=10)

    def wait(self, url: str) -> dict[str, Any]:
        for _ in range(200):
            status = self.session.get(url, timeout=10)
            if status.json()["status"] != "InProgress":
                return dict(status.json())
            time.sleep(0.05)
        raise AssertionError("the operation never finished")


@pytest.fixture
def seeded(arm: ArmEmulator) -> ArmEmulator:
    arm.control.seed(HUB.resources)
    arm.control.settings(retry_after=0, latency={"networkInterfaces.write": 0.3, "routeTables.write": 0.3, "routes.write": 0.3})
    return arm


@pytest.mark.parametrize("path", [NIC_B, HUB.listed_tables[0], HUB.listed_tables[0] + "/routes/default-via-fw"])
def test_etag_changes_when_the_write_completes_and_get_carries_it_as_a_header(seeded: ArmEmulator, path: str) -> None:
    # Recorded: a route table PUT answered etag 1c24a072…, its GET after Succeeded 52ab0e4c… (2023-12-06).
    raw = Raw(seeded)
    before = raw.get(path)
    assert before.headers["ETag"] == before.json()["etag"]
    answer = raw.put(path, before.json(), **{"If-Match": before.json()["etag"]})
    assert answer.status_code == 200 and answer.json()["properties"]["provisioningState"] == "Updating"
    assert raw.wait(answer.headers["Azure-AsyncOperation"]) == {"status": "Succeeded"}
    after = raw.get(path)
    assert after.json()["etag"] not in {answer.json()["etag"], before.json()["etag"]}
    assert after.headers["ETag"] == after.json()["etag"]
    stale = raw.put(path, after.json(), **{"If-Match": answer.json()["etag"]})  # an If-Match built from the PUT answer
    assert stale.status_code == 412
    error = stale.json()["error"]
    assert error["code"] == "PreconditionFailed"
    assert [d["code"] for d in error["details"]] == ["PreconditionFailedEtagMismatch"]
    assert answer.json()["etag"] in error["details"][0]["message"]


def test_retry_after_by_resource_type_and_only_while_in_progress(seeded: ArmEmulator) -> None:
    seeded.control.settings(retry_after={"networkInterfaces": 1, "routeTables": 10, "routes": 10, "default": 10})
    raw = Raw(seeded)
    route = HUB.listed_tables[0] + "/routes/default-via-fw"
    answers = {path: raw.put(path, raw.get(path).json()) for path in (NIC_B, HUB.listed_tables[1], route)}
    assert [a.headers["Retry-After"] for a in answers.values()] == ["1", "10", "10"]
    polls = {path: raw.session.get(a.headers["Azure-AsyncOperation"], timeout=10) for path, a in answers.items()}
    assert [(p.json()["status"], p.headers.get("Retry-After")) for p in polls.values()] == [("InProgress", "1"),
                                                                                           ("InProgress", "10"),
                                                                                           ("InProgress", "10")]
    for a in answers.values():
        raw.wait(a.headers["Azure-AsyncOperation"])
    done = raw.session.get(answers[NIC_B].headers["Azure-AsyncOperation"], timeout=10)
    assert done.json() == {"status": "Succeeded"} and "Retry-After" not in done.headers


def test_operation_url_is_signed_its_id_is_the_request_id_and_a_rebuilt_one_is_refused(seeded: ArmEmulator) -> None:
    raw = Raw(seeded)
    answer = raw.put(NIC_B, raw.get(NIC_B).json())
    url = answer.headers["Azure-AsyncOperation"]
    parts = urlsplit(url)
    assert parts.path.rsplit("/", 1)[-1] == answer.headers["x-ms-request-id"]
    assert set(parse_qs(parts.query)) == {"api-version", "t", "c", "s", "h"}
    rebuilt = f"{parts.scheme}://{parts.netloc}{parts.path}?api-version=2026-03-01"
    refused = raw.session.get(rebuilt, timeout=10)
    assert refused.status_code == 401
    assert raw.wait(url) == {"status": "Succeeded"}
    # The SDK's poller follows the URL as given, so it completes.
    nic = client(seeded).network_interfaces.get("hub-rg", "fw-b-untrust")
    assert client(seeded).network_interfaces.begin_create_or_update("hub-rg", "fw-b-untrust", nic).result() is not None


def test_global_rate_limit_headers_beside_the_principals(seeded: ArmEmulator) -> None:
    seeded.control.throttle({"reads": (250, 0.001), "writes": (200, 0.001)})  # documented sizes, refills slowed down
    one, two = Raw(seeded, "principal-one"), Raw(seeded, "principal-two")
    read = one.get(NIC_B)
    assert read.headers["x-ms-ratelimit-remaining-subscription-reads"] == "249"
    assert read.headers["x-ms-ratelimit-remaining-subscription-global-reads"] == "3749"
    other = two.get(NIC_B)  # another principal: its own bucket, the same global one
    assert other.headers["x-ms-ratelimit-remaining-subscription-reads"] == "249"
    assert other.headers["x-ms-ratelimit-remaining-subscription-global-reads"] == "3748"
    write = one.put(NIC_B, read.json())
    assert write.headers["x-ms-ratelimit-remaining-subscription-writes"] == "199"
    assert write.headers["x-ms-ratelimit-remaining-subscription-global-writes"] == "2999"


def test_referenced_subnet_still_updating_answers_429_retryable_error(seeded: ArmEmulator) -> None:
    seeded.control.updating(SUBNET.upper())
    net = client(seeded, retry_total=0)
    nic = net.network_interfaces.get("hub-rg", "fw-b-untrust")
    with pytest.raises(HttpResponseError) as err:
        net.network_interfaces.begin_create_or_update("hub-rg", "fw-b-untrust", nic)
    assert err.value.status_code == 429
    assert err.value.error is not None and err.value.error.code == "RetryableError"
    detail = err.value.error.details[0]
    assert detail.code == "ReferencedResourceNotProvisioned"
    assert SUBNET in str(detail.message) and "PutSubnetOperation" in str(detail.message)  # the subnet in its own casing
    seeded.control.clear_updating()
    assert net.network_interfaces.begin_create_or_update("hub-rg", "fw-b-untrust", nic).result() is not None


def test_public_ip_still_updating_shows_updating_and_refuses_the_attach(seeded: ArmEmulator) -> None:
    seeded.control.updating(HUB.public_ip, seconds=0.5, operation="PutPublicIpAddressOperation")
    net = client(seeded, retry_total=0)
    assert net.public_ip_addresses.get("hub-rg", "hub-fw-pip").provisioning_state == "Updating"
    a = net.network_interfaces.get("hub-rg", "fw-a-untrust")
    a.tags = {"touched": "yes"}
    with pytest.raises(HttpResponseError) as err:
        net.network_interfaces.begin_create_or_update("hub-rg", "fw-a-untrust", a)
    assert (err.value.status_code, err.value.error.details[0].code) == (429, "ReferencedResourceNotProvisioned")  # type: ignore[union-attr]
    time.sleep(0.6)
    assert net.public_ip_addresses.get("hub-rg", "hub-fw-pip").provisioning_state == "Succeeded"
    net.network_interfaces.begin_create_or_update("hub-rg", "fw-a-untrust", a).result()


def test_write_accepted_then_failed_with_another_operation_in_progress(seeded: ArmEmulator) -> None:
    seeded.control.updating(NSG, answer="async", operation="PutSecurityRuleOperation")
    net = client(seeded)
    nic = net.network_interfaces.get("hub-rg", "fw-b-untrust")
    changed = copy.deepcopy(nic)
    changed.tags = {"changed": "yes"}
    poller = net.network_interfaces.begin_create_or_update("hub-rg", "fw-b-untrust", changed)  # accepted
    with pytest.raises(HttpResponseError) as err:
        poller.result()
    assert "AnotherOperationInProgress" in str(err.value)
    assert "Another operation on this or dependent resource is in progress" in str(err.value)
    after = net.network_interfaces.get("hub-rg", "fw-b-untrust")
    assert after.tags == nic.tags and after.provisioning_state == "Succeeded"
    assert after.etag != nic.etag


def test_another_operation_in_progress_as_a_fault(seeded: ArmEmulator) -> None:
    seeded.control.fault("fail", operation="RouteTables_CreateOrUpdate", code="AnotherOperationInProgress", times=1)
    net = client(seeded)
    table = net.route_tables.get("spoke-rg", "spoke1-listed1-rt")
    table.routes[0].next_hop_ip_address = "10.0.2.5"
    with pytest.raises(HttpResponseError) as err:
        net.route_tables.begin_create_or_update("spoke-rg", "spoke1-listed1-rt", table).result()
    assert "Another operation on this or dependent resource is in progress" in str(err.value)
    after = net.route_tables.get("spoke-rg", "spoke1-listed1-rt")
    assert after.routes[0].next_hop_ip_address == "10.0.2.4" and after.provisioning_state == "Succeeded"


def test_references_and_enums_come_back_in_azure_casing(seeded: ArmEmulator) -> None:
    raw = Raw(seeded)
    body = raw.get(NIC_B).json()
    ipc = body["properties"]["ipConfigurations"][0]["properties"]
    ipc["subnet"] = {"id": SUBNET.upper()}
    ipc["privateIPAllocationMethod"] = "static"
    ipc["privateIPAddressVersion"] = "ipv4"
    body["properties"]["networkSecurityGroup"] = {"id": NSG.lower()}
    body["properties"]["nicType"] = "standard"
    a = raw.get(HUB.nics["fw-a"]["untrust"]).json()
    a["properties"]["ipConfigurations"][0]["properties"]["publicIPAddress"] = None
    raw.wait(raw.put(HUB.nics["fw-a"]["untrust"], a).headers["Azure-AsyncOperation"])
    ipc["publicIPAddress"] = {"id": HUB.public_ip.lower()}
    answer = raw.put(NIC_B, body).json()
    got = answer["properties"]["ipConfigurations"][0]["properties"]
    assert got["subnet"] == {"id": SUBNET}
    assert got["publicIPAddress"] == {"id": HUB.public_ip}
    assert (got["privateIPAllocationMethod"], got["privateIPAddressVersion"]) == ("Static", "IPv4")
    assert answer["properties"]["networkSecurityGroup"] == {"id": NSG}
    assert answer["properties"]["nicType"] == "Standard"


def test_nic_answers_with_service_defaults_and_drops_what_it_does_not_know(seeded: ArmEmulator) -> None:
    raw = Raw(seeded)
    new_nic = rid(SUB, "hub-rg", "networkInterfaces", "bare-nic")
    bare = {"location": "westeurope", "fancyTopLevel": 1, "properties": {"notAProperty": {"x": 1}, "ipConfigurations": [
        {"name": "ipconfig1", "unknown": True, "properties": {"subnet": {"id": SUBNET}, "madeUp": 2}}]}}
    created = raw.put(new_nic, bare)
    assert created.status_code == 201
    props = created.json()["properties"]
    assert set(props["dnsSettings"]) >= {"dnsServers", "appliedDnsServers", "internalDomainNameSuffix"}
    assert (props["enableIPForwarding"], props["enableAcceleratedNetworking"], props["disableTcpStateTracking"],
            props["nicType"]) == (False, False, False, "Standard")
    assert "fancyTopLevel" not in created.json() and "notAProperty" not in props
    assert "unknown" not in props["ipConfigurations"][0] and "madeUp" not in props["ipConfigurations"][0]["properties"]
    raw.wait(created.headers["Azure-AsyncOperation"])
    body = raw.get(new_nic).json()
    other = rid(SUB, "hub-rg", "networkInterfaces", "fw-a-untrust")
    a = raw.get(other).json()
    a["properties"]["ipConfigurations"][0]["properties"]["publicIPAddress"] = None
    raw.wait(raw.put(other, a).headers["Azure-AsyncOperation"])
    body["properties"]["ipConfigurations"][0]["properties"]["publicIPAddress"] = {
        "id": HUB.public_ip, "location": "westeurope", "properties": {"ipAddress": "1.2.3.4"}}
    attached = raw.put(new_nic, body).json()
    assert attached["properties"]["ipConfigurations"][0]["properties"]["publicIPAddress"] == {"id": HUB.public_ip}


def test_location_is_required_on_every_put(seeded: ArmEmulator) -> None:
    raw = Raw(seeded)
    for path in (NIC_B, HUB.listed_tables[0]):
        body = raw.get(path).json()
        del body["location"]
        refused = raw.put(path, body)
        assert (refused.status_code, refused.json()["error"]["code"]) == (400, "LocationRequired"), path


def test_the_same_public_ip_twice_in_one_nic_is_refused(seeded: ArmEmulator) -> None:
    net = client(seeded, retry_total=0)
    nic = net.network_interfaces.get("hub-rg", "fw-a-untrust")
    second = copy.deepcopy(nic.ip_configurations[0])
    second.name = "ipconfig2"
    second.id = None
    second.primary = False
    second.private_ip_address = None
    second.private_ip_allocation_method = "Dynamic"
    nic.ip_configurations.append(second)
    with pytest.raises(HttpResponseError) as err:
        net.network_interfaces.begin_create_or_update("hub-rg", "fw-a-untrust", nic)
    assert (err.value.status_code, err.value.error.code) == (400, "PublicIPReferencedByMultipleIPConfigs")  # type: ignore[union-attr]


def test_route_enums_come_back_canonical(seeded: ArmEmulator) -> None:
    raw = Raw(seeded)
    route = HUB.listed_tables[0] + "/routes/lower-cased"
    answer = raw.put(route, {"properties": {"addressPrefix": "10.20.0.0/16", "nextHopType": "virtualappliance",
                                            "nextHopIpAddress": "10.0.2.4", "colour": "blue"}})
    assert answer.status_code == 201
    assert answer.json()["properties"] == {"addressPrefix": "10.20.0.0/16", "nextHopType": "VirtualAppliance",
                                           "nextHopIpAddress": "10.0.2.4", "hasBgpOverride": False,
                                           "provisioningState": "Updating"}
