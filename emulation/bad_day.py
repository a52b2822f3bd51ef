"""The bad day, seeded: on a hub across three subscriptions, route tables that cannot be read or written, each its own way."""

from __future__ import annotations

from typing import Any, Protocol

from .topology import Hub

READS = ["Microsoft.Network/routeTables/read", "Microsoft.Authorization/permissions/read"]


class Control(Protocol):
    def rbac(self, assignments: dict[str, list[dict[str, Any]]] | None) -> None: ...
    def delete(self, resource_id: str) -> bool: ...
    def locks(self, scopes: list[str]) -> None: ...
    def fault(self, action: str, **match: Any) -> dict[str, Any]: ...
    def clear_faults(self) -> None: ...


def table(hub: Hub, name: str) -> str:
    return next(t for t in hub.all_tables if t.endswith("/" + name))


def spoil(control: Control, hub: Hub, principal: str, role: list[str]) -> dict[str, str]:
    """On `hub(subscriptions=3, listed_per_sub=2)`: a configured table deleted, another locked (ReadOnly), another whose
    writes a policy denies, the third subscription unreadable to the controller (its role is granted on that
    subscription's spoke resource group only, so the subscription cannot be listed), and one table it may read but not
    write. Answers each resource a failover must skip, with a word its reason contains."""
    subs = hub.subscriptions
    control.rbac({principal: [
        {"scope": f"/subscriptions/{subs[0]}/resourceGroups/hub-rg", "actions": role},
        {"scope": f"/subscriptions/{subs[0]}/resourceGroups/spoke-rg", "actions": READS},
        {"scope": f"/subscriptions/{subs[1]}", "actions": role},
        {"scope": f"/subscriptions/{subs[2]}/resourceGroups/spoke-rg", "actions": role},
    ]})
    assert control.delete(table(hub, "spoke1-listed2-rt"))
    control.locks([table(hub, "spoke2-listed2-rt")])
    control.fault("status", operation="RouteTables_CreateOrUpdate", resource="spoke3-listed2-rt", status=403,
                  code="RequestDisallowedByPolicy", message="Resource 'spoke3-listed2-rt' was disallowed by policy.")
    return {table(hub, "spoke1-listed1-rt"): "Microsoft.Network/routeTables/write",
            table(hub, "spoke3-listed2-rt"): "RequestDisallowedByPolicy",
            table(hub, "spoke1-listed2-rt"): "not found",
            table(hub, "spoke2-listed2-rt"): "ScopeLocked",
            f"/subscriptions/{subs[2]}": "AuthorizationFailed"}


def mend(control: Control) -> None:
    """The bad day is over: every permission granted, no lock, no fault (the deleted table stays gone)."""
    control.rbac(None)
    control.locks([])
    control.clear_faults()
