"""Referenced resources (subnet, NSG, public IP) another actor is updating, and how a NIC write using one ends."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from . import strict
from .strict import Body


@dataclass
class Updating:
    """A referenced resource (subnet, NSG, public IP) another actor is updating: how a NIC write that uses it ends."""

    until: float | None
    answer: str  # "429": refused at once; "async": accepted, then Failed with AnotherOperationInProgress
    operation: str
    other: str = field(default_factory=lambda: str(uuid.uuid4()))


class UpdatingReferences:
    """The references marked as updating (lower-cased ids), each until a time or until cleared. The store's lock guards it."""

    def __init__(self) -> None:
        self.marked: dict[str, Updating] = {}

    def mark(self, ref: str, until: float | None, answer: str, operation: str) -> None:
        if answer not in {"429", "async"}:
            raise ValueError(f"answer must be '429' or 'async', not {answer!r}")
        self.marked[ref.lower().rstrip("/")] = Updating(until, answer, operation)

    def clear(self) -> None:
        self.marked.clear()

    def current(self, ref: str, now: float) -> Updating | None:
        hit = self.marked.get(ref.lower().rstrip("/"))
        if hit is not None and hit.until is not None and now >= hit.until:
            del self.marked[ref.lower().rstrip("/")]
            return None
        return hit

    def check_settled(self, nic: Body, known: dict[str, str], now: float) -> Updating | None:
        """[tf-7986, bicep-5132 in strict.py] A NIC write using a resource that is still updating: 429 at once, or
        accepted and Failed later with AnotherOperationInProgress (answered here as the Updating to fail with)."""
        for ref in strict.references(nic):
            hit = self.current(ref, now)
            if hit is None:
                continue
            if hit.answer == "429":
                raise strict.referenced_not_provisioned(strict.canonical_id(ref, known), nic["id"], hit.operation)
            return hit
        return None
