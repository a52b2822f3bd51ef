"""The emulated Microsoft.Network estate: writes as long-running operations under Azure's rules, and their controls."""

from __future__ import annotations

import copy

from . import ip_rules, shapes, strict
from .errors import ArmError, bad_request, not_found
from .ids import ResourceId
from .operations import Operation
from .store import ArmStore
from .strict import Body
from .updating import Updating


class ArmEstate(ArmStore):
    """The store, written to: NIC and route table PUTs, route PUTs and DELETEs, each a long-running operation."""

    # ----------------------------------------------------------------- writes
    def put(self, rid: ResourceId, body: Body, if_match: str | None, if_none_match: str | None) -> tuple[int, Body, Operation]:
        """Create or update a NIC or route table as a long-running operation."""
        if rid.type == "publicIPAddresses":
            raise ArmError(405, "MethodNotAllowed", "The emulator does not create or update public IP addresses.")
        with self.lock:
            self._settle()
            self.check_scope(rid.subscription, rid.group)
            existing = self.resources.get(rid.key)
            _preconditions(rid, existing, if_match, if_none_match)
            self.operations.check_not_busy(rid)
            if not body.get("location"):
                # [issue 16] Azure wants `location` on every PUT, an update as much as a create.
                raise bad_request("LocationRequired", "The location property is required for this definition.")
            stored = self._normalize(rid, copy.deepcopy(body), existing, shapes.new_etag())
            failing: Updating | None = None
            if rid.type == "networkInterfaces":
                strict.duplicate_public_ips(stored)
                pending = self.operations.pending_nics()
                ip_rules.check_public_ip_references(stored, self.resources, pending)
                ip_rules.check_private_ips(stored, self.resources, pending)
                failing = self.updating.check_settled(stored, self.known, self.clock())
            op = self._start(rid, stored, existing, f"{rid.type}.write")
            if failing is not None:
                op.fail = ("AnotherOperationInProgress", strict.another_operation(rid.subscription, op.location, failing.other))
            return (200 if existing else 201), self._render(rid.key), op

    def put_route(self, rt: ResourceId, name: str, body: Body, if_match: str | None) -> tuple[int, Body, Operation]:
        with self.lock:
            self._settle()
            self.check_scope(rt.subscription, rt.group)
            table = self.resources.get(rt.key)
            if table is None:
                raise not_found(rt.type, rt.name, rt.group)
            routes = table["properties"].get("routes", [])
            current = next((r for r in routes if r["name"].lower() == name.lower()), None)
            if if_match is not None and (current is None or (if_match != "*" and if_match != current.get("etag"))):
                raise strict.precondition_failed(f"{rt.text}/routes/{name}", if_match, (current or {}).get("etag"))
            self.operations.check_not_busy(rt)
            route = {"name": name, "properties": dict(body.get("properties") or {})}
            new_routes = [r for r in routes if r["name"].lower() != name.lower()] + [route]
            if current is not None:
                new_routes = [route if r["name"].lower() == name.lower() else r for r in routes]
            new_table = copy.deepcopy(table)
            new_table["properties"]["routes"] = new_routes
            stored = self._normalize(rt, new_table, table, shapes.new_etag())
            op = self._start(rt, stored, table, "routes.write")
            rendered = next(r for r in self._render(rt.key)["properties"]["routes"] if r["name"].lower() == name.lower())
            return (200 if current else 201), rendered, op

    def delete_route(self, rt: ResourceId, name: str) -> Operation | None:
        """Delete a route; None when it does not exist (204)."""
        with self.lock:
            self._settle()
            self.check_scope(rt.subscription, rt.group)
            table = self.resources.get(rt.key)
            if table is None:
                return None
            routes = table["properties"].get("routes", [])
            if not any(r["name"].lower() == name.lower() for r in routes):
                return None
            self.operations.check_not_busy(rt)
            new_table = copy.deepcopy(table)
            new_table["properties"]["routes"] = [r for r in routes if r["name"].lower() != name.lower()]
            stored = self._normalize(rt, new_table, table, shapes.new_etag())
            op = self._start(rt, stored, table, "routes.delete")
            op.delete_route = name
            return op

    def _start(self, rid: ResourceId, stored: Body, before: Body | None, kind: str) -> Operation:
        return self.operations.start(self.resources, rid, stored, before, kind, self.clock() + self.settings.write_latency(kind))

    # ----------------------------------------------------------------- operations
    def operation(self, subscription: str, op_id: str) -> Operation:
        with self.lock:
            self._settle()
            return self.operations.find(subscription, op_id)

    def operation_scope(self, subscription: str, op_id: str) -> str:
        """The resource group id of the resource an operation acts on."""
        op = self.operation(subscription, op_id)
        return "/".join(self.resources.get(op.resource_key, {"id": op.resource_key})["id"].split("/")[:5])

    def hold(self, op: Operation) -> None:
        with self.lock:
            self.operations.ops[op.id].held = True

    def fail_when_done(self, op: Operation, code: str, message: str) -> None:
        with self.lock:
            self.operations.ops[op.id].fail = (code, message)

    def release(self) -> int:
        """Let every held operation finish (at once if its latency has passed)."""
        with self.lock:
            released = self.operations.unhold_all()
            self._settle()
            return released

    def busy_count(self) -> int:
        with self.lock:
            self._settle()
            return len(self.operations.busy)

    # ----------------------------------------------------------------- references another actor updates
    def mark_updating(self, ref: str, seconds: float | None, answer: str, operation: str) -> None:
        """Another actor updates a referenced resource (for `seconds`, or until cleared)."""
        with self.lock:
            self.updating.mark(ref, None if seconds is None else self.clock() + seconds, answer, operation)

    def clear_updating(self) -> None:
        with self.lock:
            self.updating.clear()


def _preconditions(rid: ResourceId, existing: Body | None, if_match: str | None, if_none_match: str | None) -> None:
    stale = existing is None or if_match is None or if_match.strip() not in {"*", existing.get("etag")}
    if if_match is not None and stale:
        raise strict.precondition_failed(rid.text, if_match, (existing or {}).get("etag"))
    if if_none_match is not None and if_none_match.strip() == "*" and existing is not None:
        raise ArmError(
            412,
            "PreconditionFailed",
            f"Precondition failed for resource {rid.text}: the If-Match or If-None-Match header does not match its current "
            "etag.",
        )
