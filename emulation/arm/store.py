"""The emulated resources and their lock: seeding, scope and lock checks, reads, and the form a resource reads back in."""

from __future__ import annotations

import copy
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from . import ip_rules, shapes, strict
from .errors import ArmError, bad_request, not_found
from .ids import ResourceId, parse
from .operations import Operations
from .strict import Body
from .updating import UpdatingReferences


@dataclass
class EstateSettings:
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


class ArmStore:
    """All emulated resources. Every public method takes the lock and settles finished operations first."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.settings = EstateSettings()
        self.resources: dict[str, Body] = {}
        self.groups: set[tuple[str, str]] = set()
        self.subscriptions: set[str] = set()
        self.operations = Operations()
        self.known: dict[str, str] = {}  # lower-cased id -> the id in its resource's own casing
        self.updating = UpdatingReferences()
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
                stored = self._normalize(rid, copy.deepcopy(body), existing, shapes.new_etag())
                shapes.set_state(stored, "Succeeded")
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

    # ----------------------------------------------------------------- internals (the lock held)
    def _settle(self) -> None:
        self.operations.settle(self.resources, self.clock())

    def _normalize(self, rid: ResourceId, body: Body, existing: Body | None, etag: str) -> Body:
        return shapes.normalize(rid, body, existing, etag, self.known, lambda: next(self._ip_counter))

    def _render(self, key: str) -> Body:
        body = copy.deepcopy(self.resources[key])
        if body["type"] == "Microsoft.Network/publicIPAddresses":
            holders = ip_rules.pip_holders(self.resources, self.operations.pending_nics(), key)
            if holders:
                body["properties"]["ipConfiguration"] = {"id": holders[0]}
            if self.updating.current(key, self.clock()) is not None:
                body["properties"]["provisioningState"] = "Updating"
        return body
