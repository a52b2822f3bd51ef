"""The paths the emulated Resource Manager serves: which route a request takes, and the operation id it names."""

from __future__ import annotations

import re

from . import moves
from .ids import TYPES

TYPE_OP = {"networkInterfaces": "NetworkInterfaces", "publicIPAddresses": "PublicIPAddresses", "routeTables": "RouteTables"}
_SUB = r"/subscriptions/(?P<sub>[^/]+)"
_RG = _SUB + r"/resourceGroups/(?P<rg>[^/]+)"
_NET = r"/providers/Microsoft\.Network"
_TYPE = r"(?P<type>networkInterfaces|publicIPAddresses|routeTables)"
ROUTES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^(?P<scope>/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)(?:/providers/.+?)?)"
                r"/providers/Microsoft\.Authorization/permissions$", re.I), "permissions"),
    (re.compile(f"^{_RG}{_NET}/routeTables/(?P<name>[^/]+)/routes/(?P<route>[^/]+)$", re.I), "route"),
    (re.compile(f"^{_RG}{_NET}/routeTables/(?P<name>[^/]+)/routes$", re.I), "routes"),
    (re.compile(f"^{_RG}{_NET}/{_TYPE}/(?P<name>[^/]+)$", re.I), "item"),
    (re.compile(f"^{_RG}{_NET}/{_TYPE}$", re.I), "group-list"),
    (re.compile(f"^{_SUB}{_NET}/{_TYPE}$", re.I), "sub-list"),
    (re.compile(f"^{_SUB}{_NET}/locations/(?P<loc>[^/]+)/operations/(?P<op>[^/]+)$", re.I), "op-status"),
    (re.compile(f"^{_SUB}{_NET}/locations/(?P<loc>[^/]+)/operationResults/(?P<op>[^/]+)$", re.I), "op-result"),
    *moves.ROUTES,  # the IP configuration move and the feature read it is gated by
]


def route(method: str, path: str) -> tuple[str, dict[str, str]]:
    """The operation id and the path's parameters (with `kind`, the route taken; "unknown" when none matches)."""
    for pattern, kind in ROUTES:
        m = pattern.match(path.rstrip("/") if path != "/" else path)
        if not m:
            continue
        params = {k: v for k, v in m.groupdict().items() if v is not None}
        if kind == "permissions":  # the SDK leaves `//` where a top-level resource has no parent path
            params["scope"] = re.sub("/+", "/", params["scope"])
        if "type" in params:
            params["type"] = TYPES[params["type"].lower()]
        return operation_id(kind, method, params), params | {"kind": kind}
    return "Unknown", {"kind": "unknown"}


def operation_id(kind: str, method: str, params: dict[str, str]) -> str:
    verb = {"GET": "Get", "PUT": "CreateOrUpdate", "DELETE": "Delete", "PATCH": "UpdateTags"}.get(method, method.title())
    if kind == "item":
        return f"{TYPE_OP[params['type']]}_{verb}"
    if kind == "group-list":
        return f"{TYPE_OP[params['type']]}_List"
    if kind == "sub-list":
        return f"{TYPE_OP[params['type']]}_ListAll"
    if kind == "route":
        return f"Routes_{verb}"
    if kind == "routes":
        return "Routes_List"
    if kind in moves.OPERATION_IDS:
        return moves.OPERATION_IDS[kind]
    if kind == "permissions":
        return "Permissions_ListForResource" if "/providers/" in params["scope"] else "Permissions_ListForResourceGroup"
    return "AsyncOperations_Get" if kind == "op-status" else "OperationResults_Get"
