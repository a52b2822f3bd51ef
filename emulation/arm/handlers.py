"""What each route does once a request passed its stages: reads, paged lists, writes answered as operations, polls."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from . import features, moves
from .errors import ArmError, bad_request
from .estate import ArmEstate
from .ids import ResourceId
from .messages import Request, Response, json_body, seconds
from .operations import Operation
from .oplinks import OperationLinks
from .rbac import Rbac

ALLOWED = {
    "item": {"GET", "PUT"}, "group-list": {"GET"}, "sub-list": {"GET"}, "routes": {"GET"},
    "route": {"GET", "PUT", "DELETE"}, "op-status": {"GET"}, "op-result": {"GET"},
}


class Handlers:
    """Answers a routed, authenticated, authorized request from the estate."""

    def __init__(self, estate: ArmEstate, rbac: Rbac, links: OperationLinks, moving: moves.Moves | None = None) -> None:
        self.estate = estate
        self.rbac = rbac
        self.links = links
        self.moves = moving or moves.Moves()

    def dispatch(self, req: Request, params: dict[str, str], principal: str) -> Response:
        kind = params["kind"]
        estate = self.estate
        method = req.method
        if kind == "permissions":
            if method != "GET":
                raise ArmError(405, "MethodNotAllowed", f"The requested resource does not support http method '{method}'.")
            self._read(None)
            return Response(200, {"value": self.rbac.permissions(principal, params["scope"])})
        if kind in moves.OPERATION_IDS:
            return self._move(req, params, principal)
        if method not in ALLOWED[kind]:
            raise ArmError(405, "MethodNotAllowed", f"The requested resource does not support http method '{method}'.")
        if kind == "item":
            rid = ResourceId(params["sub"], params["rg"], params["type"], params["name"])
            if method == "GET":
                return self._read(estate.get(rid), etag=True)
            status, body, op = estate.put(rid, json_body(req), req.headers.get("if-match"), req.headers.get("if-none-match"))
            return self._accepted(req, status, body, op)
        if kind in {"group-list", "sub-list"}:
            items = estate.list_resources(params["sub"], params.get("rg"), params["type"])
            return self._page(req, items)
        if kind in {"route", "routes"}:
            return self._route(req, params)
        return self._poll(req, params)

    def _move(self, req: Request, params: dict[str, str], principal: str) -> Response:
        """The subscription feature's read (features.py), or the IP configuration move it gates (moves.py)."""
        if params["kind"] == "feature":
            self._read(None)
            return Response(200, features.read(self.moves.features, params, req.method))
        op = moves.post(self.estate, self.moves, req, params, lambda nic: self.rbac.allowed(principal, moves.NIC_WRITE, nic))
        return self._accepted(req, 202, None, op)

    def _route(self, req: Request, params: dict[str, str]) -> Response:
        rt = ResourceId(params["sub"], params["rg"], "routeTables", params["name"])
        if params["kind"] == "routes":
            return self._page(req, self.estate.list_routes(rt))
        if req.method == "GET":
            return self._read(self.estate.get_route(rt, params["route"]), etag=True)
        if req.method == "PUT":
            status, body, op = self.estate.put_route(rt, params["route"], json_body(req), req.headers.get("if-match"))
            return self._accepted(req, status, body, op)
        deleted = self.estate.delete_route(rt, params["route"])
        if deleted is None:
            return Response(204)
        resp = self._accepted(req, 202, None, deleted)
        resp.headers["Location"] = self._op_url(req, deleted, "operationResults")
        return resp

    def _poll(self, req: Request, params: dict[str, str]) -> Response:
        kind = params["kind"]
        op = self.estate.operation(params["sub"], params["op"])
        self.links.check("operations" if kind == "op-status" else "operationResults", op.id, req.query)
        # Status polls carry Retry-After, or none at all (retry_after 0) as some Azure answers do: the poller must not rely on it.
        after = self.estate.settings.retry_after_for(op.kind)
        retry = {"Retry-After": seconds(after)} if after > 0 else {}
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
        delay = self.estate.settings.latency.get("read", 0.0)
        if delay > 0:
            time.sleep(delay)
        # GET answers carry the etag as an ETag header too (route table recording, 2023-12-06; see strict.py).
        return Response(200, body, {"ETag": str(body["etag"])} if etag and body.get("etag") else {})

    def _accepted(self, req: Request, status: int, body: Any, op: Operation) -> Response:
        # Retry-After by resource type, and the operation id is the request id (see emulation/profiles/azure.json).
        headers = {"Azure-AsyncOperation": self._op_url(req, op, "operations"),
                   "Retry-After": seconds(self.estate.settings.retry_after_for(op.kind)), "x-ms-request-id": op.id}
        return Response(status, body, headers, operation=op)

    def _op_url(self, req: Request, op: Operation, leaf: str) -> str:
        return (
            f"https://{req.host}/subscriptions/{op.subscription}/providers/Microsoft.Network/locations/"
            f"{op.location}/{leaf}/{op.id}?{self.links.query(leaf, op.id, req.query.get('api-version', '2026-03-01'))}"
        )

    def _page(self, req: Request, items: list[Any]) -> Response:
        self._read(None)
        size = max(1, self.estate.settings.page_size)
        try:
            start = int(req.query.get("$skiptoken", "0"))
        except ValueError:
            raise bad_request("InvalidSkipToken", "The $skiptoken is not valid.") from None
        body: dict[str, Any] = {"value": items[start:start + size]}
        if start + size < len(items):
            query = {k: v for k, v in req.query.items() if k != "$skiptoken"} | {"$skiptoken": str(start + size)}
            body["nextLink"] = f"https://{req.host}{req.path}?{urlencode(query)}"
        return Response(200, body)
