"""Pure parts of the atomic floating IP move: which writes one operation can replace, which path and why, the cache."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from emulation.estates import SUB, VIP, floating_estate, vip_only
from shared.adapters.moves import Move, MovePaths, choose, moves_for
from shared.adapters.permissions import Need, Verdict
from shared.domain.config import parse_config
from shared.domain.desired import AzureView, desired, plan_changes
from shared.domain.needs import MOVE_IP_CONFIGURATIONS, move_needs
from tests.unit.seeded import seeded_view

SEEDED = floating_estate({n: {"protocol": "tcp", "address": "127.0.0.1", "port": 22} for n in ("fw-a", "fw-b")})
ESTATE = vip_only(SEEDED)  # the cluster's public IP on the VIP only: the move is the whole change of both NICs
CLUSTER = parse_config(ESTATE.config).clusters[0]
VNET = f"/subscriptions/{SUB}/resourceGroups/hub-rg/providers/Microsoft.Network/virtualNetworks/hub-vnet"
NIC = f"/subscriptions/{SUB}/resourceGroups/hub-rg/providers/Microsoft.Network/networkInterfaces/"


def view(resources: list[dict[str, Any]] | None = None) -> AzureView:
    return seeded_view(resources or ESTATE.resources)


def planned(v: AzureView, to: str = "fw-b", journaled: dict[str, Any] | None = None) -> list[Move]:
    want = desired(CLUSTER, to, v, journaled)
    return moves_for(want.floating, plan_changes(CLUSTER, to, v, journaled))


def test_a_failover_moves_the_vip_from_the_nic_holding_it_to_the_target_nic() -> None:
    assert planned(view()) == [Move("vip-web", f"{NIC}fw-a-untrust/ipConfigurations/vip-web",
                                    f"{NIC}fw-b-untrust/ipConfigurations/vip-web", VNET)]
    assert planned(view(), "fw-a") == []  # already there


def test_no_move_when_the_nics_also_move_leg_public_ips() -> None:
    cluster = parse_config(SEEDED.config).clusters[0]
    v = seeded_view(SEEDED.resources)
    want = desired(cluster, "fw-b", v)
    changes = plan_changes(cluster, "fw-b", v)
    assert want.floating[0].held and moves_for(want.floating, changes) == []
    text = MovePaths(lambda sub: "Registered").survey(want.floating, ["untrust"])
    assert text is not None and text.startswith("floating IPs move with two NIC writes in sequence: the NICs of leg untrust")


def test_no_move_when_the_vip_is_on_no_nic_or_already_on_the_target() -> None:
    resources = copy.deepcopy(ESTATE.resources)
    a = next(r for r in resources if r["id"].endswith("fw-a-untrust"))
    vip = next(c for c in a["properties"]["ipConfigurations"] if c["name"] == "vip-web")
    a["properties"]["ipConfigurations"].remove(vip)
    journaled = {"vip-web": {"id": f"{NIC}fw-a-untrust/ipConfigurations/vip-web", **copy.deepcopy(vip)}}
    assert planned(view(resources), journaled=journaled) == []  # a crash between removal and addition: a write adds it
    b = next(r for r in resources if r["id"].endswith("fw-b-untrust"))
    wrong = copy.deepcopy(vip)
    wrong["properties"].pop("publicIPAddress")
    b["properties"]["ipConfigurations"].append(wrong)  # on the target already, without its public IP: drift, a write
    assert planned(view(resources), journaled=journaled) == []


def test_no_move_across_subnets() -> None:
    resources = copy.deepcopy(ESTATE.resources)
    a = next(r for r in resources if r["id"].endswith("fw-a-untrust"))
    vip = next(c for c in a["properties"]["ipConfigurations"] if c["name"] == "vip-web")
    vip["properties"]["subnet"] = {"id": f"{VNET}/subnets/elsewhere"}
    assert planned(view(resources)) == []


def test_after_a_move_that_left_the_asg_and_public_ip_behind_the_target_nic_is_written_with_them() -> None:
    before = view()
    want = desired(CLUSTER, "fw-b", before)
    resources = copy.deepcopy(ESTATE.resources)
    a = next(r for r in resources if r["id"].endswith("fw-a-untrust"))
    b = next(r for r in resources if r["id"].endswith("fw-b-untrust"))
    vip = next(c for c in a["properties"]["ipConfigurations"] if c["name"] == "vip-web")
    a["properties"]["ipConfigurations"].remove(vip)
    moved = copy.deepcopy(vip)
    for key in ("publicIPAddress", "applicationSecurityGroups"):
        moved["properties"].pop(key)
    b["properties"]["ipConfigurations"].append(moved)
    after = view(resources)
    change = want.nic_change(after.nics[f"{NIC}fw-b-untrust".lower()])
    assert change is not None
    props = next(c for c in change.body["properties"]["ipConfigurations"] if c["name"] == "vip-web")["properties"]
    assert props["publicIPAddress"] == {"id": ESTATE.floating_pip}
    assert props["applicationSecurityGroups"] == [{"id": ESTATE.asg}] and props["privateIPAddress"] == VIP
    # After a crash, the plan is rebuilt from Azure and the journal (recorded before the move): the same write.
    journaled = {"vip-web": {"id": vip.get("id", ""), **copy.deepcopy(vip)}}
    again = {c.resource.rsplit("/", 1)[-1]: c for c in plan_changes(CLUSTER, "fw-b", after, journaled)}
    props = next(c for c in again["fw-b-untrust"].body["properties"]["ipConfigurations"] if c["name"] == "vip-web")["properties"]
    assert props["applicationSecurityGroups"] == [{"id": ESTATE.asg}]
    assert desired(CLUSTER, "fw-b", view()).floating[0].in_place(vip)  # as seeded, the VIP is as it must be


@pytest.mark.parametrize(("state", "error", "refused", "missing", "atomic", "words"), [
    ("Registered", None, None, [], True, "is Registered in s1"),
    ("NotRegistered", None, None, [], False, "is NotRegistered in s1"),
    ("Registering", None, None, [], False, "is Registering in s1"),
    (None, "403 AuthorizationFailed", None, [], False, "could not be read (403 AuthorizationFailed)"),
    ("Registered", None, "409 Conflict", [], False, "the last move in s1 was refused (409 Conflict)"),
    ("Registered", None, None, [Need(MOVE_IP_CONFIGURATIONS, VNET)], False, f"lacks {MOVE_IP_CONFIGURATIONS} on {VNET}"),
])
def test_the_path_and_why(state: str | None, error: str | None, refused: str | None, missing: list[Need], atomic: bool,
                          words: str) -> None:
    path = choose("s1", state, error, refused, missing)
    assert path.atomic is atomic and words in path.text()


def test_the_feature_is_read_once_per_subscription_while_cached_and_a_refusal_is_remembered() -> None:
    now = [0.0]
    reads: list[str] = []

    def read(sub: str) -> str:
        reads.append(sub)
        return "Registered"

    paths = MovePaths(read, ttl=600, clock=lambda: now[0])
    move = [Move("vip", "", "", VNET)]
    assert paths.path("s1", move).atomic and paths.path("S1", move).atomic and reads == ["s1"]
    paths.refuse("s1", "400 SubscriptionNotRegisteredForFeature")
    assert not paths.path("s1", move).atomic and reads == ["s1"]
    now[0] = 601
    assert paths.path("s1", move).atomic and reads == ["s1", "s1"]


def test_a_missing_move_permission_takes_the_writes() -> None:
    def evaluate(needs: Any) -> Verdict:
        assert list(needs) == move_needs([VNET])
        return Verdict(tuple(needs), ())

    path = MovePaths(lambda sub: "Registered", evaluate).path(SUB, [Move("vip", "", "", VNET)])
    assert not path.atomic and MOVE_IP_CONFIGURATIONS in path.why


def test_an_unreadable_feature_takes_the_writes_says_why_and_is_read_again_within_a_minute() -> None:
    now = [0.0]
    answers: list[str | Exception] = [RuntimeError("403 AuthorizationFailed"), "Registered"]

    def read(sub: str) -> str:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    paths = MovePaths(read, clock=lambda: now[0])
    text = paths.survey(desired(CLUSTER, "fw-b", view()).floating)
    assert text is not None and "two NIC writes" in text and "403 AuthorizationFailed" in text
    now[0] = 61
    text = paths.survey(desired(CLUSTER, "fw-b", view()).floating)
    assert text is not None and "one moveIpConfigurations operation" in text and answers == []
