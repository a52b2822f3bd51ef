"""Permissions evaluated as Azure does, the cache's read pattern, and the needs a NIC write's body implies."""

from __future__ import annotations

import time

from shared.adapters.permissions import PermissionCache
from shared.domain.desired import Change
from shared.domain.needs import needs_of
from shared.domain.permission_rules import Grant, Listed, Need, allows, matches

RG = "/subscriptions/s1/resourceGroups/hub-rg"
NIC = f"{RG}/providers/Microsoft.Network/networkInterfaces/fw-a-untrust"
SUBNET = f"{RG}/providers/Microsoft.Network/virtualNetworks/hub-vnet/subnets/untrust"


def test_wildcards_match_any_characters_case_insensitively() -> None:
    assert matches("*", "Microsoft.Network/networkInterfaces/write")
    assert matches("Microsoft.Network/*", "microsoft.network/virtualNetworks/subnets/join/action")
    assert matches("*/read", "Microsoft.Authorization/permissions/read")
    assert matches("Microsoft.Network/*/join/action", "Microsoft.Network/loadBalancers/backendAddressPools/join/action")
    assert not matches("Microsoft.Network/*/read", "Microsoft.Network/networkInterfaces/write")
    assert not matches("Microsoft.Network/networkInterfaces/read", "Microsoft.Network/networkInterfaces/readx")
    assert not matches("Microsoft.Network/loadBalancers/*", "Microsoft.Compute/loadBalancers/x")
    assert matches("Microsoft.Network/a.b", "Microsoft.Network/a.b") and not matches("Microsoft.Network/a.b", "Microsoft.Network/aXb")


def test_not_actions_subtract_within_their_own_role_only() -> None:
    contributor_minus_writes = Grant(("*",), ("Microsoft.Network/*/write",))
    assert not allows([contributor_minus_writes], "Microsoft.Network/networkInterfaces/write")
    assert allows([contributor_minus_writes], "Microsoft.Network/networkInterfaces/read")
    nic_writer = Grant(("Microsoft.Network/networkInterfaces/write",))
    assert allows([contributor_minus_writes, nic_writer], "Microsoft.Network/networkInterfaces/write")  # not a deny
    assert not allows([], "Microsoft.Network/networkInterfaces/read")


class FakeReader:
    """Answers from a table of grants by scope; counts reads; a scope marked None cannot be read."""

    def __init__(self, grants: dict[str, tuple[Grant, ...] | None]) -> None:
        self.grants = grants
        self.reads: list[str] = []

    def list(self, scope: str) -> Listed:
        self.reads.append(scope)
        found = self.grants.get(scope.lower(), ())
        return Listed(scope, found, None if found is not None else "could not read permissions (403)", time.monotonic())


def test_a_resource_level_grant_counts_and_a_warm_allowed_gate_reads_nothing() -> None:
    reader = FakeReader({RG.lower(): (Grant(("Microsoft.Network/networkInterfaces/write",)),),
                         SUBNET.lower(): (Grant(("Microsoft.Network/virtualNetworks/subnets/join/action",)),)})
    cache = PermissionCache(reader)
    needs = [Need("Microsoft.Network/networkInterfaces/write", NIC), Need("Microsoft.Network/virtualNetworks/subnets/join/action", SUBNET)]
    assert cache.evaluate(needs, refresh=True).missing == ()
    assert reader.reads == [RG, SUBNET]
    reader.reads.clear()
    assert cache.evaluate(needs).missing == ()
    assert reader.reads == []


def test_a_denial_is_read_again_before_it_blocks_and_unreadable_never_blocks() -> None:
    reader = FakeReader({RG.lower(): ()})
    cache = PermissionCache(reader)
    need = Need("Microsoft.Network/networkInterfaces/write", NIC)
    assert cache.evaluate([need], refresh=True).missing == (need,)
    reader.reads.clear()
    reader.grants[RG.lower()] = (Grant(("Microsoft.Network/*",)),)  # granted back
    assert cache.evaluate([need]).missing == ()
    assert RG in reader.reads
    reader.grants[RG.lower()] = None
    verdict = cache.evaluate([need], refresh=True)
    assert verdict.missing == () and verdict.unreadable == (RG,)


def test_a_nic_write_needs_a_join_on_everything_its_body_references() -> None:
    lb = f"{RG}/providers/Microsoft.Network/loadBalancers/trust-ilb"
    body = {"id": NIC, "properties": {
        "networkSecurityGroup": {"id": f"{RG}/providers/Microsoft.Network/networkSecurityGroups/nsg"},
        "ipConfigurations": [{"name": "ipconfig1", "properties": {
            "subnet": {"id": SUBNET},
            "publicIPAddress": {"id": f"{RG}/providers/Microsoft.Network/publicIPAddresses/pip"},
            "applicationSecurityGroups": [{"id": f"{RG}/providers/Microsoft.Network/applicationSecurityGroups/asg"}],
            "loadBalancerBackendAddressPools": [{"id": f"{lb}/backendAddressPools/pool"}],
            "loadBalancerInboundNatRules": [{"id": f"{lb}/inboundNatRules/ssh"}],
            "applicationGatewayBackendAddressPools": [{"id": f"{RG}/providers/Microsoft.Network/applicationGateways/agw/backendAddressPools/p"}],
            "gatewayLoadBalancer": {"id": f"{RG}/providers/Microsoft.Network/loadBalancers/glb/frontendIPConfigurations/glb-fe"},
        }}]}}
    table = "/subscriptions/s2/resourceGroups/spoke-rg/providers/Microsoft.Network/routeTables/rt"
    changes = [Change(NIC, "nic", "attachPublicIp", {}, {}, body, None, 1),
               Change(table, "routeTable", "updateRoutes", {}, {}, {}, None, 0)]
    actions = {(n.action.split("/", 1)[1], n.scope.rsplit("/", 1)[-1]) for n in needs_of(changes)}
    assert actions == {
        ("networkInterfaces/write", "fw-a-untrust"), ("routeTables/write", "rt"),
        ("locations/operations/read", "hub-rg"), ("locations/operations/read", "spoke-rg"),
        ("networkSecurityGroups/join/action", "nsg"), ("virtualNetworks/subnets/join/action", "untrust"),
        ("publicIPAddresses/join/action", "pip"), ("applicationSecurityGroups/joinIpConfiguration/action", "asg"),
        ("loadBalancers/backendAddressPools/join/action", "pool"), ("loadBalancers/inboundNatRules/join/action", "ssh"),
        ("applicationGateways/backendAddressPools/join/action", "p"),
        ("loadBalancers/frontendIPConfigurations/join/action", "glb-fe"),  # a gateway load balancer's frontend
    }


def test_prefetch_reads_only_for_a_new_process_and_then_the_gate_reads_nothing() -> None:
    reader = FakeReader({RG.lower(): (Grant(("Microsoft.Network/*",)),)})
    cache = PermissionCache(reader)
    cache.prefetch([RG, RG.upper()])
    deadline = time.monotonic() + 5
    while cache.reads < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [r.lower() for r in reader.reads] == [RG.lower()]  # once, whatever the spelling
    cache.prefetch([RG, f"{RG}-other"])  # no longer cold: nothing more is read
    assert cache.evaluate([Need("Microsoft.Network/networkInterfaces/write", NIC)]).missing == ()
    assert len(reader.reads) == 1


def test_unreadable_at_the_resource_counts_as_granted_as_at_its_group() -> None:
    """The group grants nothing and the NIC's own permissions cannot be read: not known missing, so not blocked."""
    reader = FakeReader({RG.lower(): (), NIC.lower(): None})
    cache = PermissionCache(reader)
    need = Need("Microsoft.Network/networkInterfaces/write", NIC)
    for refresh in (True, False):
        verdict = cache.evaluate([need], refresh=refresh)
        assert verdict.missing == () and verdict.unreadable == (NIC,), verdict
    reader.grants[NIC.lower()] = ()  # readable and not granted: missing
    assert cache.evaluate([need], refresh=True).missing == (need,)
    at_group = Need("Microsoft.Network/locations/operations/read", RG)  # read at its group, not granted: missing
    assert cache.evaluate([at_group], refresh=True).missing == (at_group,)


def test_refresh_reads_every_known_scope_again_and_the_gate_sees_a_revoked_grant() -> None:
    reader = FakeReader({RG.lower(): (Grant(("Microsoft.Network/*",)),)})
    cache = PermissionCache(reader)
    need = Need("Microsoft.Network/networkInterfaces/write", NIC)
    assert cache.evaluate([need], refresh=True).missing == ()
    reader.grants[RG.lower()] = ()  # revoked within the cache's life
    assert cache.evaluate([need]).missing == ()  # the cache still trusts the grant it found
    cache.refresh()  # a write answered 403
    assert cache.evaluate([need]).missing == (need,)
    assert reader.reads.count(RG) >= 2
