"""A seeded estate as Azure would show it to AzureNetwork.read, for the pure planning tests."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from shared.domain.desired import AzureView


def seeded_view(resources: Iterable[dict[str, Any]], managed: Iterable[str] | None = None) -> AzureView:
    """IP configuration ids filled in, public IPs' holders set; route tables kept when `managed` names them (default all)."""
    keep = None if managed is None else {t.lower() for t in managed}
    nics: dict[str, Any] = {}
    pips: dict[str, Any] = {}
    tables: dict[str, Any] = {}
    for body in copy.deepcopy(list(resources)):
        key, kind = body["id"].lower(), body["id"].split("/")[7]
        if kind == "networkInterfaces":
            for ipc in body["properties"]["ipConfigurations"]:
                ipc["id"] = f"{body['id']}/ipConfigurations/{ipc['name']}"
            nics[key] = body
        elif kind == "publicIPAddresses":
            pips[key] = body
        elif kind == "routeTables" and (keep is None or key in keep):
            tables[key] = body
    for nic in nics.values():
        for ipc in nic["properties"]["ipConfigurations"]:
            ref = (ipc["properties"].get("publicIPAddress") or {}).get("id")
            if ref:
                pips[ref.lower()]["properties"]["ipConfiguration"] = {"id": ipc["id"]}
    return AzureView(nics, pips, tables)
