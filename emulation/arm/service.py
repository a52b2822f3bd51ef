"""The emulated Resource Manager: one request through its stages (auth, api-version, throttle, faults, RBAC, locks) to its handler."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from . import routes, stages
from .authorization import authorize
from .errors import ArmError
from .estate import ArmEstate
from .faults import Faults
from .handlers import Handlers
from .messages import LoggedRequest, Request, Response
from .moves import Moves
from .oplinks import OperationLinks
from .rbac import Assignment, Rbac
from .throttle import ProviderWindows, Throttle
from .tokens import Tokens


class ArmService:
    """The emulated Resource Manager: turns one request into one response, or a dropped connection."""

    def __init__(self, estate: ArmEstate | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.estate = estate or ArmEstate(clock)
        self.throttle = Throttle(clock=clock)
        self.network_limits = ProviderWindows(clock=clock)
        self.rbac = Rbac()
        self.faults = Faults()
        self.tokens = Tokens()
        self.links = OperationLinks()
        self.moves = Moves()  # the IP configuration move's switch and the subscriptions' features
        self.handlers = Handlers(self.estate, self.rbac, self.links, self.moves)
        self.log: list[LoggedRequest] = []
        self._log_lock = threading.Lock()

    # ----------------------------------------------------------------- entry
    def handle(self, req: Request) -> Response:
        operation, params = routes.route(req.method, req.path)
        principal = "-"
        outcome = "answered"
        try:
            principal = self.tokens.authenticate(req)
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

    def _handle_authenticated(self, req: Request, operation: str, params: dict[str, str], principal: str) -> Response:
        kind = params["kind"]
        if kind == "unknown":
            raise ArmError(404, "InvalidResourceType", f"The resource type could not be found for path '{req.path}'.")
        stages.check_api_version(req, kind)
        bucket = stages.bucket_of(req)
        limit_header = stages.take_arm_token(self.throttle, params, principal, bucket)
        stages.take_network_token(self.network_limits, self.throttle.region, self.estate, params, bucket)
        fault = self.faults.take(operation, req.method, req.path)
        early = stages.early_fault(self.faults, fault)
        if early is not None:
            return early
        authorize(self.rbac, self.estate, req, params, principal)
        if req.method in {"PUT", "DELETE", "PATCH"}:
            self.estate.check_unlocked(req.path)
        resp = self.handlers.dispatch(req, params, principal)
        resp.headers.update(limit_header)
        if fault is not None:
            stages.late_fault(self.estate, fault, resp)
        return resp

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
