"""Request handling of the emulated Resource Manager: routing, auth, RBAC, throttling, faults, paging."""

from __future__ import annotations

import json
import math
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from . import moves
from .errors import ArmError, bad_request
from .faults import Fault, Faults
from .ids import TYPES, ResourceId
from .oplinks import OperationLinks
from .rbac import Assignment, Rbac
from .strict import another_operation
from .throttle import ProviderWindows, Throttle
from .world import Operation, World

API_VERSIONS = {"2026-03-01"}
PERMISSIONS_API_VERSIONS = {"2022-04-01", "2015-07-01"}  # Microsoft.Authorization/permissions
TYPE_OP = {"networkInterfaces": "NetworkInterfaces", "publicIPAddresses": "PublicIPAddresses", "routeTables": "RouteTables"}

# IP configuration property -> the join action Azure checks on each resource it references (LinkedAuthorizationFailed).
LINKED_JOINS = {
    "subnet": "Microsoft.Network/virtualNetworks/subnets/join/action",
    "publicIPAddress": "Microsoft.Network/publicIPAddresses/join/action",
    "applicationSecurityGroups": "Microsoft.Network/applicationSecurityGroups/joinIpConfiguration/action",
    "loadBalancerBackendAddressPools": "Microsoft.Network/loadBalancers/backendAddressPools/join/action",
    "loadBalancerInboundNatRules": "Microsoft.Network/loadBalancers/inboundNatRules/join/action",
    "applicationGatewayBackendAddressPools": "Microsoft.Network/applicationGateways/backendAddressPools/join/action",
    "gatewayLoadBalancer": "Microsoft.Network/loadBalancers/frontendIPConfigurations/join/action",
}
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
    *moves.ROUTES,
]


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    host: str


@dataclass
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without answering
    operation: Operation | None = None  # the long-running operation a write started


@dataclass
class LoggedRequest:
    at: float
    method: str
    path: str
    operation: str
    status: int
    principal: str
    outcome: str


class Tokens:
    """Bearer tokens the identity endpoint issued, and whom each stands for."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, str] = {}

    def issue(self, principal: str) -> str:
        token = f"emu.{secrets.token_urlsafe(24)}"
        with self._lock:
            self._tokens[token] = principal
        return token

    def principal(self, token: str) -> str | None:
        with self._lock:
            return self._tokens.get(token)


class ArmService:
    """The emulated Resource Manager: turns one request into one response, or a dropped connection."""

    def __init__(self, world: World | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.world = world or World(clock)
        self.throttle = Throttle(clock=clock)
        self.network_limits = ProviderWindows(clock=clock)
        self.rbac = Rbac()
        self.faults = Faults()
        self.tokens = Tokens()
        self.links = OperationLinks()
        self.moves = moves.Moves()
        self.log: list[LoggedRequest] = []
        self._log_lock = threading.Lock()

    # ----------------------------------------------------------------- entry
    def handle(self, req: Request) -> Response:
        operation, params = self._route(req)
        principal = "-"
        outcome = "answered"
        try:
            principal = self._authenticate(req)
            resp = self._handle_authenticated(req, operation, params, principal)
        except ArmError as err:
            resp = Response(err.status, err.body(), dict(err.headers))
        if resp.drop:
            outcome = "dropped"
        with self._log_lock:
            self.log.append(LoggedRequest(time.time(), req.method, req.path, operation, resp.status, principal, outcome))
        resp.headers.setdefault("x-ms-request-id", str(uuid.uuid4()))
        resp.headers.setdefault("x-ms-correlation-request-id", req.headers.get("x-ms-client-request-id", str(uuid.uuid4())))
        return resp

    def _route(self, req: Request) -> tuple[str, dict[str, str]]:
        for pattern, kind in ROUTES:
            m = pattern.match(req.path.rstrip("/") if req.path != "/" else req.path)
            if not m:
                continue
            params = {k: v for k, v in m.groupdict().items() if v is not None}
            if kind == "permissions":  # the SDK leaves `//` where a top-level resource has no parent path
                params["scope"] = re.sub("/+", "/", params["scope"])
            if "type" in params:
                params["type"] = TYPES[params["type"].lower()]
            return _operation_id(kind, req.method, params), params | {"kind": kind}
        return "Unknown", {"kind": "unknown"}

    def _principal_of(self, req: Request) -> str:
        return self._authenticate(req)

    def _authenticate(self, req: Request) -> str:
        auth = req.headers.get("authorization", "")
        if not auth:
            raise _unauthenticated("The 'Authorization' header is missing.")
        scheme, _, token = auth.partition(" ")
        principal = self.tokens.principal(token.strip()) if scheme.lower() == "bearer" else None
        if principal is None:
            raise _unauthenticated("The access token is invalid.")
        return principal

    def _handle_authenticated(self, req: Request, operation: str, params: dict[str, str], principal: str) -> Response:
        kind = params["kind"]
        if kind == "unknown":
            raise ArmError(404, "InvalidResourceType", f"The resource type could not be found for path '{req.path}'.")
        version = req.query.get("api-version")
        if not version:
            raise bad_request("MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.")
        if kind == "permissions" and version not in PERMISSIONS_API_VERSIONS:
            raise bad_request("InvalidApiVersionParameter", f"The api-version '{version}' is invalid. The supported versions are "
                              f"'{', '.join(sorted(PERMISSIONS_API_VERSIONS))}'.")
        if kind in moves.OPERATION_IDS:
            moves.check_version(kind, version, API_VERSIONS)
        elif version not in API_VERSIONS and kind not in {"op-status", "op-result", "permissions"}:
            raise bad_request(
                "NoRegisteredProviderFound",
                f"No registered resource provider found for API version '{version}'. "
                f"The supported api-versions are '{', '.join(sorted(API_VERSIONS))}'.",
            )
        bucket = {"GET": "reads", "DELETE": "deletes"}.get(req.method, "writes")
        allowed, remaining, wait, shared = self.throttle.take(params["sub"], principal, bucket)
        limit_header = {f"x-ms-ratelimit-remaining-subscription-{bucket}": str(remaining),
                        f"x-ms-ratelimit-remaining-subscription-global-{bucket}": str(shared)}
        if not allowed:
            seconds = max(1, math.ceil(wait))
            raise ArmError(
                429,
                "SubscriptionRequestsThrottled",
                f"Number of '{bucket[:-1]}' requests for subscription '{params['sub']}' actor '{principal}' exceeded. "
                f"Please try again after '{seconds}' seconds after additional tokens are available. "
                "Refer to https://aka.ms/arm-throttling for additional information.",
                {"Retry-After": str(seconds), **limit_header},
            )
        self._network_limit(req, params, bucket)
        fault = self.faults.take(operation, req.method, req.path)
        early = self._early_fault(fault)
        if early is not None:
            return early
        self._authorize(req, params, principal)
        if req.method in {"PUT", "DELETE", "PATCH"}:
            self.world.check_unlocked(req.path)
        resp = self._dispatch(req, operation, params)
        resp.headers.update(limit_header)
        if fault is not None:
            self._late_fault(fault, resp)
        return resp

    def _network_limit(self, req: Request, params: dict[str, str], bucket: str) -> None:
        """Microsoft.Network's 5-minute limits per subscription and region of the resource (after ARM's own buckets)."""
        region = params.get("loc")
        if region is None and "name" in params and "type" in params:
            rid = ResourceId(params["sub"], params["rg"], params["type"], params["name"])
            with self.world.lock:
                stored = self.world.resources.get(rid.key)
            region = str((stored or {}).get("location") or "") or None
        allowed, _, wait = self.network_limits.take(params["sub"], region or self.throttle.region, bucket)
        if not allowed:
            seconds = max(1, math.ceil(wait))
            raise ArmError(429, "TooManyRequests",
                           f"The request is being throttled: Microsoft.Network {bucket} of subscription '{params['sub']}' "
                           f"in region '{region or self.throttle.region}' exceeded the 5-minute limit. "
                           f"Please retry after {seconds} seconds.", {"Retry-After": str(seconds)})

    # ----------------------------------------------------------------- faults
    def _early_fault(self, fault: Fault | None) -> Response | None:
        if fault is None:
            return None
        if fault.action == "hang":
            self.faults.hung += 1
            try:
                self.faults.released.wait()
            finally:
                self.faults.hung -= 1
            return None
        if fault.action == "drop":
            return Response(0, drop=True)
        if fault.action == "throttle":
            return Response(
                429,
                {"error": {"code": "SubscriptionRequestsThrottled", "message": fault.message}},
                {"Retry-After": _seconds(fault.retry_after)},
            )
        if fault.action == "status":
            return Response(fault.status, {"error": {"code": fault.code, "message": fault.message}})
        return None

    def _late_fault(self, fault: Fault, resp: Response) -> None:
        op = resp.operation
        if fault.action == "lose-response":
            resp.drop = True
        elif fault.action == "fail" and op is not None:
            message = fault.message
            if fault.code == "AnotherOperationInProgress":  # as Azure words it (Azure/bicep#5132)
                message = another_operation(op.subscription, op.location, str(uuid.uuid4()))
            self.world.fail_when_done(op, fault.code, message)
        elif fault.action == "stall" and op is not None:
            self.world.hold(op)

    # ----------------------------------------------------------------- RBAC
    def _authorize(self, req: Request, params: dict[str, str], principal: str) -> None:
        if not self.rbac.enforcing:
            return
        kind = params["kind"]
        verb = {"GET": "read", "DELETE": "delete"}.get(req.method, "write")
        if kind == "permissions":
            action, scope = "Microsoft.Authorization/permissions/read", params["scope"]
        elif kind in moves.OPERATION_IDS:
            action, scope = moves.authorization(params)
        elif kind in {"op-status", "op-result"}:
            # Tracking needs the permission at the resource group of the operated resource (or above):
            # the status URL is not under the resource, so a resource-level grant is not enough.
            action = "Microsoft.Network/locations/operations/read"
            scope = self.world.operation_scope(params["sub"], params["op"])
        elif kind in {"route", "routes"}:
            action = f"Microsoft.Network/routeTables/routes/{verb}"
            scope = f"/subscriptions/{params['sub']}/resourceGroups/{params['rg']}/providers/Microsoft.Network/routeTables/{params['name']}"
            if kind == "route":
                scope += f"/routes/{params['route']}"
        else:
            action = f"Microsoft.Network/{params['type']}/{verb}"
            scope = f"/subscriptions/{params['sub']}"
            if "rg" in params:
                scope += f"/resourceGroups/{params['rg']}/providers/Microsoft.Network/{params['type']}"
                if "name" in params:
                    scope += f"/{params['name']}"
        if not self.rbac.allowed(principal, action, scope):
            raise ArmError(
                403,
                "AuthorizationFailed",
                f"The client '{principal}' with object id '{principal}' does not have authorization to perform action "
                f"'{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.",
            )
        if kind == "item" and req.method == "PUT" and params["type"] == "networkInterfaces":
            self._authorize_links(req, action, scope, principal)

    def _authorize_links(self, req: Request, action: str, scope: str, principal: str) -> None:
        """A NIC write must also be allowed to join each resource it references: NSG, subnets, public IPs, application
        security groups, load balancer backend pools and inbound NAT rules, application gateway backend pools."""
        try:
            body = json.loads(req.body or b"{}")
        except ValueError:
            return
        links: list[tuple[str, str]] = []
        props = body.get("properties") or {}
        nsg = (props.get("networkSecurityGroup") or {}).get("id")
        if nsg:
            links.append(("Microsoft.Network/networkSecurityGroups/join/action", nsg))
        for ipc in props.get("ipConfigurations") or []:
            ip_props = ipc.get("properties") or {}
            for prop, link_action in LINKED_JOINS.items():
                value = ip_props.get(prop)
                refs = value if isinstance(value, list) else [value]
                links += [(link_action, str(r["id"])) for r in refs if isinstance(r, dict) and r.get("id")]
        for link_action, link_scope in links:
            if not self.rbac.allowed(principal, link_action, link_scope):
                raise ArmError(
                    403,
                    "LinkedAuthorizationFailed",
                    f"The client '{principal}' has permission to perform action '{action}' on scope '{scope}'; however, "
                    f"it does not have permission to perform action(s) '{link_action}' on the linked scope(s) "
                    f"'{link_scope}' (respectively) or the linked scope(s) are invalid.",
                )

    # ----------------------------------------------------------------- operations
    def _dispatch(self, req: Request, operation: str, params: dict[str, str]) -> Response:
        kind = params["kind"]
        world = self.world
        method = req.method
        if kind == "permissions":
            if method != "GET":
                raise ArmError(405, "MethodNotAllowed", f"The requested resource does not support http method '{method}'.")
            self._read(None)
            return Response(200, {"value": self.rbac.permissions(self._principal_of(req), params["scope"])})
        if kind in moves.OPERATION_IDS:
            return moves.dispatch(self, req, params)
        allowed = {
            "item": {"GET", "PUT"}, "group-list": {"GET"}, "sub-list": {"GET"}, "routes": {"GET"},
            "route": {"GET", "PUT", "DELETE"}, "op-status": {"GET"}, "op-result": {"GET"},
        }[kind]
        if method not in allowed:
            raise ArmError(405, "MethodNotAllowed", f"The requested resource does not support http method '{method}'.")
        if kind == "item":
            rid = ResourceId(params["sub"], params["rg"], params["type"], params["name"])
            if method == "GET":
                return self._read(world.get(rid), etag=True)
            status, body, op = world.put(rid, _json_body(req), req.headers.get("if-match"), req.headers.get("if-none-match"))
            return self._accepted(req, status, body, op)
        if kind in {"group-list", "sub-list"}:
            items = world.list_resources(params["sub"], params.get("rg"), params["type"])
            return self._page(req, items)
        if kind in {"route", "routes"}:
            rt = ResourceId(params["sub"], params["rg"], "routeTables", params["name"])
            if kind == "routes":
                return self._page(req, world.list_routes(rt))
            if method == "GET":
                return self._read(world.get_route(rt, params["route"]), etag=True)
            if method == "PUT":
                status, body, op = world.put_route(rt, params["route"], _json_body(req), req.headers.get("if-match"))
                return self._accepted(req, status, body, op)
            deleted = world.delete_route(rt, params["route"])
            if deleted is None:
                return Response(204)
            resp = self._accepted(req, 202, None, deleted)
            resp.headers["Location"] = self._op_url(req, deleted, "operationResults")
            return resp
        op = world.operation(params["sub"], params["op"])
        self.links.check("operations" if kind == "op-status" else "operationResults", op.id, req.query)
        # Status polls carry Retry-After, or none at all (retry_after 0) as some Azure answers do: the poller must not rely on it.
        after = world.settings.retry_after_for(op.kind)
        retry = {"Retry-After": _seconds(after)} if after > 0 else {}
        if kind == "op-status":
            answer: dict[str, Any] = {"status": op.status}
            if op.error:
                answer["error"] = op.error
            return Response(200, answer, retry if op.status == "InProgress" else {})
        if op.status == "InProgress":
            return Response(202, None, {**retry, "Location": self._op_url(req, op, "operationResults")})
        if op.status == "Failed":
            return Response(400, {"error": op.error})
        return Response(204)

    def _read(self, body: Any, etag: bool = False) -> Response:
        delay = self.world.settings.latency.get("read", 0.0)
        if delay > 0:
            time.sleep(delay)
        # GET answers carry the etag as an ETag header too (route table recording, 2023-12-06; see strict.py).
        return Response(200, body, {"ETag": str(body["etag"])} if etag and body.get("etag") else {})

    def _accepted(self, req: Request, status: int, body: Any, op: Operation) -> Response:
        # Retry-After by resource type, and the operation id is the request id (see emulation/profiles/azure.json).
        headers = {"Azure-AsyncOperation": self._op_url(req, op, "operations"),
                   "Retry-After": _seconds(self.world.settings.retry_after_for(op.kind)), "x-ms-request-id": op.id}
        return Response(status, body, headers, operation=op)

    def _op_url(self, req: Request, op: Operation, leaf: str) -> str:
        return (
            f"https://{req.host}/subscriptions/{op.subscription}/providers/Microsoft.Network/locations/"
            f"{op.location}/{leaf}/{op.id}?{self.links.query(leaf, op.id, req.query.get('api-version', '2026-03-01'))}"
        )

    def _page(self, req: Request, items: list[Any]) -> Response:
        self._read(None)
        size = max(1, self.world.settings.page_size)
        try:
            start = int(req.query.get("$skiptoken", "0"))
        except ValueError:
            raise bad_request("InvalidSkipToken", "The $skiptoken is not valid.") from None
        body: dict[str, Any] = {"value": items[start:start + size]}
        if start + size < len(items):
            query = {k: v for k, v in req.query.items() if k != "$skiptoken"} | {"$skiptoken": str(start + size)}
            body["nextLink"] = f"https://{req.host}{req.path}?{urlencode(query)}"
        return Response(200, body)

    # ----------------------------------------------------------------- control plane
    def configure_rbac(self, spec: dict[str, list[dict[str, Any]]] | None) -> None:
        if spec is None:
            self.rbac.configure(None)
            return
        self.rbac.configure({
            principal: [Assignment(a["scope"], tuple(a["actions"]), tuple(a.get("notActions") or ())) for a in items]
            for principal, items in spec.items()
        })

    def request_log(self) -> list[dict[str, Any]]:
        with self._log_lock:
            return [dict(vars(r)) for r in self.log]

    def clear_log(self) -> None:
        with self._log_lock:
            self.log.clear()


def parse_target(target: str) -> tuple[str, dict[str, str]]:
    """Split a request target into a path and its query (last value wins)."""
    parts = urlsplit(target)
    query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    return parts.path, query


def _json_body(req: Request) -> dict[str, Any]:
    try:
        body = json.loads(req.body or b"")
    except ValueError:
        raise bad_request("InvalidRequestContent", "The request content was invalid and could not be deserialized.") from None
    if not isinstance(body, dict):
        raise bad_request("InvalidRequestContent", "The request content must be a JSON object.")
    return body


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}"


def _operation_id(kind: str, method: str, params: dict[str, str]) -> str:
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


def _unauthenticated(why: str) -> ArmError:
    return ArmError(
        401,
        "AuthenticationFailed",
        f"Authentication failed. {why}",
        {"WWW-Authenticate": 'Bearer authorization_uri="https://login.microsoftonline.com/common", error="invalid_token", '
                             f'error_description="{why}"'},
    )
