"""Parsing and building Azure resource ids for the Microsoft.Network types the emulator serves."""

from __future__ import annotations

import re
from dataclasses import dataclass

TYPES = {
    "networkinterfaces": "networkInterfaces",
    "publicipaddresses": "publicIPAddresses",
    "routetables": "routeTables",
}

_ID = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.Network/"
    r"(?P<type>[^/]+)/(?P<name>[^/]+)$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ResourceId:
    """A top-level Microsoft.Network resource id, with its canonical type name."""

    subscription: str
    group: str
    type: str
    name: str

    @property
    def text(self) -> str:
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.group}"
            f"/providers/Microsoft.Network/{self.type}/{self.name}"
        )

    @property
    def key(self) -> str:
        return self.text.lower()

    @property
    def group_key(self) -> tuple[str, str]:
        return (self.subscription.lower(), self.group.lower())

    @property
    def arm_type(self) -> str:
        return f"Microsoft.Network/{self.type}"


def parse(resource_id: str) -> ResourceId | None:
    """Parse a top-level resource id of a served type, or None."""
    m = _ID.match(resource_id.rstrip("/"))
    if not m or m["type"].lower() not in TYPES:
        return None
    return ResourceId(m["sub"], m["rg"], TYPES[m["type"].lower()], m["name"])

