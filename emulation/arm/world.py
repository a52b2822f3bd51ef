"""The emulated Microsoft.Network world: resources, long-running operations and Azure's rules on them."""

from __future__ import annotations

import copy
import ipaddress
import itertools
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import strict
from .errors import ArmError, bad_request, not_found
from .ids import ResourceId, parse

Body = dict[str, Any]

NIC_READONLY = {
    "macAddress", "virtualMachine", "resourceGuid", "primary", "vnetEncryptionSupported",
    "hostedWorkloads", "tapConfigurations", "privateEndpoint", "dscpConfiguration",
    "privateLinkService", "defaultOutboundConnectivityEnabled",
}
RT_READONLY = {"subnets", "resourceGuid"}
PIP_READONLY = {"ipConfiguration", "resourceGuid", "natGateway"}
NEXT_HOP_TYPES = {"virtualnetworkgateway", "vnetlocal", "internet", "virtualappliance", "virtualapplianceecmp", "none"}


def new_etag() -> str:
    return f'W/"{uuid.uuid4()}"'


@dataclass
class Operation:
    """One long-running write: InProgress until its latency has passed (or it is released)."""

    id: str
    resource_key: str
    subscription: str
    location: str
    kind: str
    done_at: float
    before: Body | None
    delete_route: str | None = None
    held: bool = False
    fail: tuple[str, str] | None = None
    status: str = "InProgress"
    error: dict[str, str] | None = None
    finished_at: float | None = None


@dataclass
class WorldSettings:
    """Knobs tests and benchmarks turn: operation latencies, the Retry-After sent, list page size."""

    latency: dict[str, float] = field(default_factory=dict)
    retry_after: int = 10  # whole seconds: the spec declares Retry-After int32
    page_size: int = 100
    # Retry-After by resource type ("networkInterfaces", "routeTables", "routes", ...), else `retry_after`.
    retry_after_by_type: dict[str, int] = field(default_factory=dict)

    def write_latency(self, kind: str) -> float:
        type_name = kind.split(".")[0]
        return self.latency.get(kind, self.latency.get(f"{type_name}.write", 0.0))

    def retry_after_for(self, kind: str) -> int:
        return self.retry_after_by_type.get(kind.split(".")[0], self.retry_after)


@dataclass
class Updating:
    """A referenced resource (subnet, NSG, public IP) another actor is updating: how a NIC write that uses it ends."""

    until: float | None
    answer: str  # "429": refused at once; "async": accepted, then Failed with AnotherOperationInProgress
    operation: str
    other: str = field(default_factory=lambda: str(uuid.uuid4()))


class World:
    """All emulated resources. Every public method takes the lock and settles finished operations first."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.settings = WorldSettings()
        self.resources: dict[str, Body] = {}
        self.groups: set[tuple[str, str]] = set()
        self.subscriptions: set[str] = set()
        self.ops: dict[str, Operation] = {}
        self.busy: dict[str, str] = {}
        self.known: dict[str, str] = {}  # lower-cased id -> the id in its resource's own casing
        self.updating: dict[str, Updating] = {}
        self.locks: set[str] = set()  # scopes under a ReadOnly management lock (lower-cased)
        self._ip_counter = itertools.count(4)

    # ----------------------------------------------------------------- seeding and inspection
    def seed(self, resources: list[Body], subscriptions: list[str] | None = None) -> None:
        """Add resources (ARM bodies with ids) in dependency order; their groups and subscriptions exist."""
        order = {"publicIPAddresses": 0, "routeTables": 1, "networkInterfaces": 2}
        parsed: list[tuple[ResourceId, Body]] = []
        for body in resources:
            rid = parse(str(body.get("id", "")))
            if rid is None:
                raise bad_request("InvalidResourceId", f"Seed resource id {body.get('id')!r} is not a served type.")
            parsed.append((rid, body))
        with self.lock:
            for sub in subscriptions or []:
                self.subscriptions.add(sub.lower())
            for rid, body in parsed:
                self.known.setdefault(rid.key, rid.text)
                for ref in strict.references(body):  # what the seed references is what Azure holds, in its casing
                    self.known.setdefault(ref.lower().rstrip("/"), ref.rstrip("/"))
            for rid, body in sorted(parsed, key=lambda p: order[p[0].type]):
                self.subscriptions.add(rid.subscription.lower())
                self.groups.add(rid.group_key)
                existing = self.resources.get(rid.key)
                stored = self._normalize(rid, copy.deepcopy(body), existing, new_etag())
                self._set_state(stored, "Succeeded")
                self.resources[rid.key] = stored

    def remove(self, resource_id: str) -> bool:
        """Someone deletes a resource (a decommissioned spoke's route table, say)."""
        with self.lock:
            self._settle()
            return self.resources.pop(resource_id.lower().rstrip("/"), None) is not None

    def check_unlocked(self, path: str) -> None:
        """A write under a ReadOnly lock is refused as Azure refuses it: 409 ScopeLocked, naming the locked scope."""
        with self.lock:
            target = path.lower().rstrip("/")
            held = sorted(s for s in self.locks if target == s or target.startswith(s + "/"))
        if held:
            raise ArmError(409, "ScopeLocked", f"The scope '{path}' cannot perform write operation because following scope(s) "
                                               f"are locked: '{held[0]}'. Please remove the lock and try again.")

    def snapshot(self) -> list[Body]:
        with self.lock:
            self._settle()
            return [self._render(k) for k in sorted(self.resources)]

    # ----------------------------------------------------------------- reads
    def check_scope(self, subscription: str, group: str | None = None) -> None:
        with self.lock:
            if subscription.lower() not in self.subscriptions:
                raise ArmError(404, "SubscriptionNotFound", f"The subscription '{subscription}' could not be found.")
            if group is not None and (subscription.lower(), group.lower()) not in self.groups:
                raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{group}' could not be found.")

    def get(self, rid: ResourceId) -> Body:
        with self.lock:
            self._settle()
            self.check_scope(rid.subscription, rid.group)
            if rid.key not in self.resources:
                raise not_found(rid.type, rid.name, rid.group)
            return self._render(rid.key)

    def list_resources(self, subscription: str, group: str | None, type_name: str) -> list[Body]:
        with self.lock:
            self._settle()
            self.check_scope(subscription, group)
            out = []
            for key in sorted(self.resources):
                rid = parse(self.resources[key]["id"])
                assert rid is not None
                if rid.type != type_name or rid.subscription.lower() != subscription.lower():
                    continue
                if group is not None and rid.group.lower() != group.lower():
                    continue
                out.append(self._render(key))
            return out

    def get_route(self, rt: ResourceId, route: str) -> Body:
        table = self.get(rt)
        for r in table["properties"].get("routes", []):
            if r["name"].lower() == route.lower():
                return dict(r)
        raise ArmError(404, "NotFound", f"Resource {rt.text}/routes/{route} not found.")

    def list_routes(self, rt: ResourceId) -> list[Body]:
        return list(self.get(rt)["properties"].get("routes", []))

    # ----------------------------------------------------------------- writes
    def put(self, rid: ResourceId, body: Body, if_match: str | None, if_none_match: str | None) -> tuple[int, Body, Operation]:
        """Create or update a NIC or route table as a long-running operation."""
        if rid.type == "publicIPAddresses":
            raise ArmError(405, "MethodNotAllowed", "The emulator does not create or update public IP addresses.")
        with self.lock:
            self._settle()
            self.check_scope(rid.subscription, rid.group)
            existing = self.resources.get(rid.key)
            self._preconditions(rid, existing, if_match, if_none_match)
            self._check_not_busy(rid)
            if not body.get("location"):
                # [issue 16] Azure wants `location` on every PUT, an update as much as a create.
                raise bad_request("LocationRequired", "The location property is required for this definition.")
            stored = self._normalize(rid, copy.deepcopy(body), existing, new_etag())
            failing: Updating | None = None
            if rid.type == "networkInterfaces":
                strict.duplicate_public_ips(stored)
                self._check_public_ip_references(stored)
                self._check_private_ips(stored)
                failing = self._check_references_settled(stored)
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
            self._check_not_busy(rt)
            route = {"name": name, "properties": dict(body.get("properties") or {})}
            new_routes = [r for r in routes if r["name"].lower() != name.lower()] + [route]
            if current is not None:
                new_routes = [route if r["name"].lower() == name.lower() else r for r in routes]
            new_table = copy.deepcopy(table)
            new_table["properties"]["routes"] = new_routes
            stored = self._normalize(rt, new_table, table, new_etag())
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
            self._check_not_busy(rt)
            new_table = copy.deepcopy(table)
            new_table["properties"]["routes"] = [r for r in routes if r["name"].lower() != name.lower()]
            stored = self._normalize(rt, new_table, table, new_etag())
            op = self._start(rt, stored, table, "routes.delete")
            op.delete_route = name
            return op

    # ----------------------------------------------------------------- operations
    def operation(self, subscription: str, op_id: str) -> Operation:
        with self.lock:
            self._settle()
            op = self.ops.get(op_id)
            if op is None or op.subscription.lower() != subscription.lower():
                raise ArmError(404, "OperationNotFound", f"Operation {op_id} was not found.")
            return copy.copy(op)

    def operation_scope(self, subscription: str, op_id: str) -> str:
        """The resource group id of the resource an operation acts on."""
        op = self.operation(subscription, op_id)
        return "/".join(self.resources.get(op.resource_key, {"id": op.resource_key})["id"].split("/")[:5])

    def hold(self, op: Operation) -> None:
        with self.lock:
            self.ops[op.id].held = True

    def fail_when_done(self, op: Operation, code: str, message: str) -> None:
        with self.lock:
            self.ops[op.id].fail = (code, message)

    def release(self) -> int:
        """Let every held operation finish (at once if its latency has passed)."""
        with self.lock:
            held = [op for op in self.ops.values() if op.held]
            for op in held:
                op.held = False
            self._settle()
            return len(held)

    def busy_count(self) -> int:
        with self.lock:
            self._settle()
            return len(self.busy)

    # ----------------------------------------------------------------- internals
    def _preconditions(self, rid: ResourceId, existing: Body | None, if_match: str | None, if_none_match: str | None) -> None:
        stale = existing is None or if_match is None or if_match.strip() not in {"*", existing.get("etag")}
        if if_match is not None and stale:
            raise strict.precondition_failed(rid.text, if_match, (existing or {}).get("etag"))
        if if_none_match is not None and if_none_match.strip() == "*" and existing is not None:
            raise _precondition_failed(rid.text)

    def _check_not_busy(self, rid: ResourceId) -> None:
        op_id = self.busy.get(rid.key)
        if op_id is not None:
            op = self.ops[op_id]
            name = "Put" + rid.type[0].upper() + rid.type[1:-1] + "Operation"
            raise ArmError(
                429,
                "RetryableErrorDueToAnotherOperation",
                f"Operation {name} (id {op.id}) is updating resource {rid.text}. "
                "The call can be retried in 1 seconds.",
                {"Retry-After": "1"},
            )

    def _start(self, rid: ResourceId, stored: Body, before: Body | None, kind: str) -> Operation:
        op = Operation(
            id=str(uuid.uuid4()),
            resource_key=rid.key,
            subscription=rid.subscription,
            location=str(stored.get("location") or "westeurope"),
            kind=kind,
            done_at=self.clock() + self.settings.write_latency(kind),
            before=copy.deepcopy(before),
        )
        self._set_state(stored, "Updating")
        self.resources[rid.key] = stored
        self.ops[op.id] = op
        self.busy[rid.key] = op.id
        return op

    def _settle(self) -> None:
        now = self.clock()
        for key, op_id in list(self.busy.items()):
            op = self.ops[op_id]
            if op.held or now < op.done_at:
                continue
            del self.busy[key]
            op.finished_at = now
            if op.fail is None:
                op.status = "Succeeded"
                # [rec-rt in strict.py] the etag a PUT answers with is not the one the resource has once it succeeded.
                done = self.resources[key]
                done["etag"] = new_etag()
                _stamp_children(done, done["etag"])
                self._set_state(done, "Succeeded")
                continue
            op.status = "Failed"
            op.error = {"code": op.fail[0], "message": op.fail[1]}
            if op.fail[0] != "AnotherOperationInProgress":
                # Microsoft.Network keeps what the failed PUT asked for and marks the resource Failed ("Failed: last
                # operation on the resource wasn't successful"; to recover, "run another write (PUT) operation on the
                # resource"): https://learn.microsoft.com/azure/networking/troubleshoot-failed-state. No rollback.
                kept = self.resources[key]
                kept["etag"] = new_etag()
                _stamp_children(kept, kept["etag"])
                self._set_state(kept, "Failed")
            elif op.before is None:
                del self.resources[key]
            else:
                reverted = copy.deepcopy(op.before)
                reverted["etag"] = new_etag()
                _stamp_children(reverted, reverted["etag"])
                # A write refused because another operation held a dependency changed nothing: still Succeeded.
                self._set_state(reverted, "Succeeded")
                self.resources[key] = reverted

    def _set_state(self, body: Body, state: str) -> None:
        props = body.setdefault("properties", {})
        props["provisioningState"] = state
        for child in props.get("ipConfigurations", []) + props.get("routes", []):
            child.setdefault("properties", {})["provisioningState"] = state

    def _pip_holders(self, pip_key: str, exclude_nic: str | None = None) -> list[str]:
        """IP configurations holding a public IP: those referencing it now, and any whose detach is still running."""
        holders: list[str] = []
        bodies = [
            b for k, b in self.resources.items()
            if b["type"] == "Microsoft.Network/networkInterfaces" and k != exclude_nic
        ]
        pending = [
            self.ops[op_id].before for key, op_id in self.busy.items()
            if self.ops[op_id].before is not None and key.split("/")[-2] == "networkinterfaces"
        ]
        for body in bodies + [b for b in pending if b is not None]:
            for ipc in body["properties"].get("ipConfigurations", []):
                ref = ((ipc.get("properties") or {}).get("publicIPAddress") or {}).get("id")
                if ref and ref.lower() == pip_key and ipc["id"] not in holders:
                    holders.append(ipc["id"])
        return holders

    def _check_public_ip_references(self, nic: Body) -> None:
        for ipc in nic["properties"].get("ipConfigurations", []):
            ref = ((ipc.get("properties") or {}).get("publicIPAddress") or {}).get("id")
            if not ref:
                continue
            pip = parse(ref)
            if pip is None or pip.type != "publicIPAddresses" or pip.key not in self.resources:
                raise bad_request(
                    "InvalidResourceReference",
                    f"Resource {ref} referenced by resource {ipc['id']} was not found. "
                    "Please make sure that the referenced resource exists, and that both resources are in the same region.",
                )
            others = self._pip_holders(pip.key, exclude_nic=nic["id"].lower())
            if others:
                raise bad_request(
                    "PublicIPAddressInUse",
                    f"Resource {self.resources[pip.key]['id']} is referenced by resource {others[0]}. "
                    f"It cannot be used by {ipc['id']}.",
                )

    def _check_private_ips(self, nic: Body) -> None:
        """A private IP stays with the IP configuration holding it until the write that removes it has completed."""
        held: dict[tuple[str, Any], str] = {}
        pending = [self.ops[op_id].before for key, op_id in self.busy.items() if key.split("/")[-2] == "networkinterfaces"]
        others = [b for k, b in self.resources.items() if b["type"] == "Microsoft.Network/networkInterfaces"
                  and k != nic["id"].lower()]
        for body in others + [b for b in pending if b is not None and b["id"].lower() != nic["id"].lower()]:
            for ipc in body["properties"].get("ipConfigurations", []):
                held.setdefault(_ip_key(ipc), body["id"])
        for ipc in nic["properties"].get("ipConfigurations", []):
            owner = held.get(_ip_key(ipc))
            if owner is not None and _ip_key(ipc)[1] is not None:
                raise bad_request(
                    "PrivateIPAddressIsAllocated",
                    f"IP configuration {ipc['id']} is using the private IP address {ipc['properties']['privateIPAddress']} "
                    f"which is already allocated to resource {owner}.",
                )

    def mark_updating(self, ref: str, seconds: float | None, answer: str, operation: str) -> None:
        """Another actor updates a referenced resource (for `seconds`, or until cleared)."""
        if answer not in {"429", "async"}:
            raise ValueError(f"answer must be '429' or 'async', not {answer!r}")
        with self.lock:
            until = None if seconds is None else self.clock() + seconds
            self.updating[ref.lower().rstrip("/")] = Updating(until, answer, operation)

    def clear_updating(self) -> None:
        with self.lock:
            self.updating.clear()

    def _updating(self, ref: str) -> Updating | None:
        hit = self.updating.get(ref.lower().rstrip("/"))
        if hit is not None and hit.until is not None and self.clock() >= hit.until:
            del self.updating[ref.lower().rstrip("/")]
            return None
        return hit

    def _check_references_settled(self, nic: Body) -> Updating | None:
        """[tf-7986, bicep-5132 in strict.py] A NIC write using a resource that is still updating: 429 at once, or
        accepted and Failed later with AnotherOperationInProgress (answered here as the Updating to fail with)."""
        for ref in strict.references(nic):
            hit = self._updating(ref)
            if hit is None:
                continue
            if hit.answer == "429":
                raise strict.referenced_not_provisioned(strict.canonical_id(ref, self.known), nic["id"], hit.operation)
            return hit
        return None

    def _normalize(self, rid: ResourceId, body: Body, existing: Body | None, etag: str) -> Body:
        """The stored form of a written body: server-set fields set, read-only ones kept, the rest as sent."""
        props = body.get("properties")
        if props is None:
            props = {}
        if not isinstance(props, dict):
            raise bad_request("InvalidRequestFormat", "Cannot parse the request: 'properties' must be an object.")
        old_props = (existing or {}).get("properties", {})
        readonly = {"networkInterfaces": NIC_READONLY, "routeTables": RT_READONLY, "publicIPAddresses": PIP_READONLY}[rid.type]
        if existing is not None:
            for key in readonly:
                props.pop(key, None)
                if key in old_props:
                    props[key] = copy.deepcopy(old_props[key])
        stored: Body = {
            "name": existing["name"] if existing else rid.name,
            "id": existing["id"] if existing else rid.text,
            "etag": etag,
            "type": rid.arm_type,
            "location": (existing or {}).get("location") or body.get("location"),
        }
        for key, value in body.items():
            if key not in {"name", "id", "etag", "type", "location", "properties"}:
                stored[key] = value
        stored["properties"] = props
        if rid.type == "networkInterfaces":
            self._normalize_nic(stored, old_props)
            strict.strict_nic(stored, self.known)
        elif rid.type == "routeTables":
            _normalize_routes(stored)
            strict.strict_route_table(stored)
        elif rid.type == "publicIPAddresses":
            props.pop("ipConfiguration", None)
            strict.strict_public_ip(stored)
        if existing is None and rid.type != "publicIPAddresses":
            props.setdefault("resourceGuid", str(uuid.uuid4()))
        _stamp_children(stored, etag)
        return stored

    def _normalize_nic(self, nic: Body, old_props: Body) -> None:
        props = nic["properties"]
        configs = props.get("ipConfigurations")
        if not isinstance(configs, list) or not configs:
            raise bad_request(
                "NetworkInterfaceMustHaveAtLeastOneIpConfiguration",
                f"Network interface {nic['id']} must have at least one IP configuration.",
            )
        old = {c["name"].lower(): c for c in old_props.get("ipConfigurations", [])}
        seen: set[str] = set()
        for ipc in configs:
            name = ipc.get("name") if isinstance(ipc, dict) else None
            if not isinstance(name, str) or not name:
                raise bad_request("InvalidRequestFormat", "Cannot parse the request: an IP configuration has no name.")
            if name.lower() in seen:
                raise bad_request("DuplicateResourceName", f"Network interface {nic['id']} has two IP configurations named {name}.")
            seen.add(name.lower())
            ipc["id"] = f"{nic['id']}/ipConfigurations/{name}"
            ipc["type"] = "Microsoft.Network/networkInterfaces/ipConfigurations"
            ip_props = ipc.setdefault("properties", {})
            v6 = str(ip_props.get("privateIPAddressVersion", "")).lower() == "ipv6" or ":" in str(ip_props.get("privateIPAddress", ""))
            if not ip_props.get("privateIPAddress"):
                previous = (old.get(name.lower()) or {}).get("properties", {}).get("privateIPAddress")
                n = next(self._ip_counter)
                ip_props["privateIPAddress"] = previous or (f"fd00:db8::{n:x}" if v6 else f"10.0.{n // 250}.{n % 250 + 4}")
            ip_props.setdefault("privateIPAllocationMethod", "Dynamic")
            ip_props["privateIPAddressVersion"] = "IPv6" if v6 else "IPv4"
            pip = ip_props.get("publicIPAddress")
            if pip is not None and not (isinstance(pip, dict) and isinstance(pip.get("id"), str)):
                raise bad_request("InvalidRequestFormat", f"Cannot parse the request: {ipc['id']} publicIPAddress must be {{'id': …}}.")
        if len(configs) == 1:
            configs[0]["properties"]["primary"] = True
        _check_primary(nic["id"], configs, old)

    def _render(self, key: str) -> Body:
        body = copy.deepcopy(self.resources[key])
        if body["type"] == "Microsoft.Network/publicIPAddresses":
            holders = self._pip_holders(key)
            if holders:
                body["properties"]["ipConfiguration"] = {"id": holders[0]}
            if self._updating(key) is not None:
                body["properties"]["provisioningState"] = "Updating"
        return body


def _precondition_failed(resource: str) -> ArmError:
    return ArmError(
        412,
        "PreconditionFailed",
        f"Precondition failed for resource {resource}: the If-Match or If-None-Match header does not match its current etag.",
    )


def _ip_key(ipc: Body) -> tuple[str, Any]:
    """A private IP as an address, within its virtual network (the subnet id without /subnets/…)."""
    props = ipc.get("properties") or {}
    vnet = str((props.get("subnet") or {}).get("id", "")).lower().split("/subnets/")[0]
    try:
        return vnet, ipaddress.ip_address(str(props.get("privateIPAddress", "")))
    except ValueError:
        return vnet, None


def _check_primary(nic_id: str, configs: list[Body], old: dict[str, Body]) -> None:
    """A NIC keeps exactly one primary IP configuration, an IPv4 one, and the primary cannot be removed or demoted."""
    primaries = [c for c in configs if c["properties"].get("primary") is True]
    if not primaries:  # none declared: the one that was primary stays so (the first, on a new NIC)
        was_primary = {n for n, c in old.items() if (c.get("properties") or {}).get("primary") is True}
        first = next((c for c in configs if c["name"].lower() in was_primary), None if was_primary else configs[0])
        if first is not None:
            first["properties"]["primary"] = True
            primaries = [first]
    for c in configs:
        c["properties"].setdefault("primary", False)
    if len(primaries) > 1:
        raise bad_request("MultiplePrimaryIpConfigurationsOnNic",
                          f"Network interface {nic_id} must have exactly one primary IP configuration; found {len(primaries)}.")
    if primaries and primaries[0]["properties"]["privateIPAddressVersion"] == "IPv6":
        raise bad_request("PrimaryIpConfigurationMustBeIPv4",
                          f"The primary IP configuration {primaries[0]['id']} of network interface {nic_id} must be IPv4.")
    was = next((c for c in old.values() if (c.get("properties") or {}).get("primary") is True), None)
    if was is not None and (not primaries or was["name"].lower() != primaries[0]["name"].lower()):
        raise bad_request("CannotRemovePrimaryIpConfiguration",
                          f"IP configuration {was['id']} is the primary IP configuration of network interface {nic_id} "
                          "and cannot be removed or made secondary.")


def _stamp_children(body: Body, etag: str) -> None:
    props = body.get("properties", {})
    for child in props.get("ipConfigurations", []) + props.get("routes", []):
        child["etag"] = etag


def _normalize_routes(table: Body) -> None:
    routes = table["properties"].get("routes")
    if routes is None:
        table["properties"]["routes"] = []
        return
    if not isinstance(routes, list):
        raise bad_request("InvalidRequestFormat", "Cannot parse the request: 'routes' must be an array.")
    seen: set[str] = set()
    for route in routes:
        name = route.get("name") if isinstance(route, dict) else None
        if not isinstance(name, str) or not name:
            raise bad_request("InvalidRequestFormat", "Cannot parse the request: a route has no name.")
        if name.lower() in seen:
            raise bad_request("DuplicateResourceName", f"Route table {table['id']} has two routes named {name}.")
        seen.add(name.lower())
        route["id"] = f"{table['id']}/routes/{name}"
        route["type"] = "Microsoft.Network/routeTables/routes"
        props = route.setdefault("properties", {})
        props.pop("hasBgpOverride", None)
        props["hasBgpOverride"] = False
        hop = props.get("nextHopType")
        if not isinstance(hop, str) or hop.lower() not in NEXT_HOP_TYPES:
            raise bad_request("InvalidRouteNextHopType", f"Route {route['id']} has an invalid nextHopType {hop!r}.")
        if not isinstance(props.get("addressPrefix"), str):
            raise bad_request("InvalidRouteAddressPrefix", f"Route {route['id']} has no addressPrefix.")
        if hop.lower() in {"virtualappliance", "virtualapplianceecmp"}:
            try:
                ipaddress.ip_address(str(props.get("nextHopIpAddress")))
            except ValueError:
                raise bad_request(
                    "InvalidNextHopIpAddress",
                    f"Route {route['id']} has next hop type {hop} and an invalid nextHopIpAddress {props.get('nextHopIpAddress')!r}.",
                ) from None


__all__ = ["Operation", "World", "WorldSettings", "new_etag"]
