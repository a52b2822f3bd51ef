"""Pure parts of "Partial beats none": who may go on without a table, what readiness says, what the CLI shows."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Literal

import pytest
from nva_failover_cli.render import failover

from emulation.topology import two_firewalls
from shared.control.assess import Assessor, partial_allowed
from shared.domain.config import parse_config
from shared.domain.desired import NOT_FOUND, AzureView, addresses_unread
from shared.domain.policy import initial_state, start
from shared.domain.readiness import resources_check
from shared.domain.state import ClusterState, Journal, NvaHealth, Trigger
from shared.errors import NotAllWritable
from tests.unit.seeded import seeded_view

HUB = two_firewalls({n: {"protocol": "tcp", "address": "127.0.0.1", "port": 22} for n in ("fw-a", "fw-b")})
CLUSTER = parse_config(HUB.config).clusters[0]
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def journaled(healthy: bool | None, trigger: Trigger = "auto", force: bool = False,
              kind: Literal["failover", "repair"] = "failover") -> tuple[ClusterState, Journal]:
    state = initial_state(CLUSTER)
    state = replace(state, health={**state.health, "fw-a": NvaHealth(healthy=healthy)})
    locked = start(state, kind, "fw-a" if kind == "repair" else "fw-b", trigger, "test", NOW, "me", timedelta(seconds=2))
    assert locked.journal is not None
    return locked, replace(locked.journal, force=force)


@pytest.mark.parametrize(("healthy", "trigger", "force", "kind", "partial"), [
    (False, "auto", False, "failover", True),     # away from a failed NVA
    (False, "manual", False, "failover", True),   # an operator moving away from a failed NVA
    (True, "manual", False, "failover", False),   # away from a healthy one: all or nothing
    (True, "auto", False, "failover", False),     # a failback
    (None, "manual", False, "failover", False),
    (True, "manual", True, "failover", True),     # forced
    (True, "auto", False, "repair", True),        # drift repair
])
def test_who_may_go_on_without_a_table(healthy: bool | None, trigger: Trigger, force: bool,
                                       kind: Literal["failover", "repair"], partial: bool) -> None:
    state, journal = journaled(healthy, trigger, force, kind)
    assert partial_allowed(state, journal) is partial


def test_a_move_away_from_a_healthy_nva_with_anything_unread_is_refused_naming_it() -> None:
    _, journal = journaled(True, "manual")
    with pytest.raises(NotAllWritable) as refused:
        Assessor(None, None).admit(journal, [], False, {HUB.listed_tables[0]: NOT_FOUND})  # type: ignore[arg-type]
    assert HUB.listed_tables[0] in str(refused.value) and "all or nothing" in str(refused.value)


def test_resources_names_what_is_missing_and_what_could_not_be_read() -> None:
    seen = seeded_view(HUB.resources, HUB.all_tables)
    listing = f"/subscriptions/{HUB.subscriptions[1]}"
    view = AzureView(seen.nics, seen.public_ips, seen.route_tables,
                     {HUB.listed_tables[0]: NOT_FOUND, listing: "route tables could not be listed (403 AuthorizationFailed)"})
    check = resources_check(CLUSTER, view, [HUB.listed_tables[0]])
    assert not check.ok
    assert f"not found in Azure: {HUB.listed_tables[0]}" in check.detail
    assert f"could not be read: {listing} (route tables could not be listed (403 AuthorizationFailed))" in check.detail
    assert addresses_unread(view) == {}, "tables and listings do not stop address moves"
    nic = HUB.nics["fw-b"]["untrust"]
    assert addresses_unread(replace(view, unread={nic: "could not be read: 403"})) == {nic: "could not be read: 403"}


def test_the_cli_shows_what_a_failover_skipped() -> None:
    text = failover({"cluster": "hub-fw", "from": "fw-a", "to": "fw-b", "epoch": 1, "dryRun": False, "durationMs": 900,
                     "changes": [], "skipped": [{"resource": HUB.listed_tables[0], "reason": "409 ScopeLocked"}]})
    assert "skipped" in text and HUB.listed_tables[0] in text and "409 ScopeLocked" in text
