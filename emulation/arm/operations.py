"""Long-running operations: each write InProgress until its latency has passed, then what it leaves behind."""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass

from . import shapes
from .errors import ArmError
from .ids import ResourceId
from .strict import Body


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


class Operations:
    """The operations started (by id) and the resource each running one keeps busy. The store's lock guards it."""

    def __init__(self) -> None:
        self.ops: dict[str, Operation] = {}
        self.busy: dict[str, str] = {}  # resource key -> the id of the operation writing it

    def start(self, resources: dict[str, Body], rid: ResourceId, stored: Body, before: Body | None, kind: str,
              done_at: float) -> Operation:
        """Store the written body as Updating and start the operation that finishes it at `done_at`."""
        op = Operation(
            id=str(uuid.uuid4()),
            resource_key=rid.key,
            subscription=rid.subscription,
            location=str(stored.get("location") or "westeurope"),
            kind=kind,
            done_at=done_at,
            before=copy.deepcopy(before),
        )
        shapes.set_state(stored, "Updating")
        resources[rid.key] = stored
        self.ops[op.id] = op
        self.busy[rid.key] = op.id
        return op

    def check_not_busy(self, rid: ResourceId) -> None:
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

    def pending_nics(self) -> list[Body]:
        """The NICs as they were before each NIC write still running (what they held is held until it completes)."""
        befores = [self.ops[op_id].before for key, op_id in self.busy.items() if key.split("/")[-2] == "networkinterfaces"]
        return [b for b in befores if b is not None]

    def settle(self, resources: dict[str, Body], now: float) -> None:
        """Finish every operation whose time has come and that is not held."""
        for key, op_id in list(self.busy.items()):
            op = self.ops[op_id]
            if op.held or now < op.done_at:
                continue
            del self.busy[key]
            op.finished_at = now
            if op.fail is None:
                op.status = "Succeeded"
                # [rec-rt in strict.py] the etag a PUT answers with is not the one the resource has once it succeeded.
                done = resources[key]
                done["etag"] = shapes.new_etag()
                shapes.stamp_children(done, done["etag"])
                shapes.set_state(done, "Succeeded")
                continue
            op.status = "Failed"
            op.error = {"code": op.fail[0], "message": op.fail[1]}
            if op.fail[0] != "AnotherOperationInProgress":
                # Microsoft.Network keeps what the failed PUT asked for and marks the resource Failed ("Failed: last
                # operation on the resource wasn't successful"; to recover, "run another write (PUT) operation on the
                # resource"): https://learn.microsoft.com/azure/networking/troubleshoot-failed-state. No rollback.
                kept = resources[key]
                kept["etag"] = shapes.new_etag()
                shapes.stamp_children(kept, kept["etag"])
                shapes.set_state(kept, "Failed")
            elif op.before is None:
                del resources[key]
            else:
                reverted = copy.deepcopy(op.before)
                reverted["etag"] = shapes.new_etag()
                shapes.stamp_children(reverted, reverted["etag"])
                # A write refused because another operation held a dependency changed nothing: still Succeeded.
                shapes.set_state(reverted, "Succeeded")
                resources[key] = reverted

    def find(self, subscription: str, op_id: str) -> Operation:
        """A copy of the operation, if it was started in this subscription."""
        op = self.ops.get(op_id)
        if op is None or op.subscription.lower() != subscription.lower():
            raise ArmError(404, "OperationNotFound", f"Operation {op_id} was not found.")
        return copy.copy(op)

    def unhold_all(self) -> int:
        held = [op for op in self.ops.values() if op.held]
        for op in held:
            op.held = False
        return len(held)
