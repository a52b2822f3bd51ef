"""HTTPS front of the emulated Resource Manager, its control plane, and the managed-identity endpoint."""

from __future__ import annotations

import json
import secrets
import socket
import ssl
import threading
import time
import traceback
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import trustme

from .faults import Fault
from .messages import Request, Response, parse_target
from .service import ArmService

ARM_AUDIENCE = "https://management.azure.com"


class _TlsServer(ThreadingHTTPServer):
    """A threading HTTP server that does each TLS handshake in the connection's own thread."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], context: ssl.SSLContext | None) -> None:
        self.context = context
        super().__init__(address, handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.context is None:
            super().finish_request(request, client_address)
            return
        try:
            wrapped = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            super().finish_request(wrapped, client_address)
        finally:
            # socketserver closes the raw socket, whose descriptor the TLS socket now owns: close this one.
            try:
                wrapped.close()
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _ArmHttpServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class names it so
        return

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, resp: Response) -> None:
        if resp.drop:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        payload = b"" if resp.body is None else json.dumps(resp.body).encode()
        self.send_response(resp.status)
        for name, value in resp.headers.items():
            self.send_header(name, value)
        if resp.body is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload:
            self.wfile.write(payload)

    def _dispatch(self) -> None:
        body = self._read_body()
        path, query = parse_target(self.path)
        if path.startswith("/_emulator/"):
            self._send(self.server.control(self.command, path, body))
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        host = self.headers.get("Host") or f"127.0.0.1:{self.server.server_address[1]}"
        try:
            resp = self.server.service.handle(Request(self.command, path, query, headers, body, host))
        except Exception:  # an emulator bug: answer as ARM does, and say so on stderr
            traceback.print_exc()
            resp = Response(500, {"error": {"code": "InternalServerError", "message": "The emulator failed; see its stderr."}})
        self._send(resp)

    do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = _dispatch


class _ArmHttpServer(_TlsServer):
    service: ArmService
    control: Any


class _IdentityHandler(BaseHTTPRequestHandler):
    """The App Service managed-identity protocol (api-version 2019-08-01)."""

    protocol_version = "HTTP/1.1"
    server: _IdentityHttpServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        status, body = self.server.issue(parts.path, query, self.headers.get("X-IDENTITY-HEADER"))
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class _IdentityHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    issue: Any


@dataclass
class Endpoints:
    """Where a running emulator answers, and what a client needs to trust and reach it."""

    arm_url: str
    identity_endpoint: str
    identity_header: str
    ca_path: str

    def as_json(self) -> dict[str, str]:
        return dict(vars(self))


class EmulatorServer:
    """Runs the emulated ARM over HTTPS and the identity endpoint over HTTP, on loopback."""

    def __init__(self, state_dir: Path, host: str = "127.0.0.1", port: int = 0, identity_port: int = 0) -> None:
        self.service = ArmService()
        self.identity_header = secrets.token_hex(16)
        ca = trustme.CA()
        cert = ca.issue_cert(host, "localhost")
        state_dir.mkdir(parents=True, exist_ok=True)
        self.ca_path = state_dir / "arm-emulator-ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_path))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        self._arm = _ArmHttpServer((host, port), _Handler, context)
        self._arm.service = self.service
        self._arm.control = self.control
        self._identity = _IdentityHttpServer((host, identity_port), _IdentityHandler)
        self._identity.issue = self.issue_token
        self._threads = [
            threading.Thread(target=s.serve_forever, name=f"emulator-{n}", daemon=True)
            for n, s in (("arm", self._arm), ("identity", self._identity))
        ]
        self.endpoints = Endpoints(
            arm_url=f"https://{host}:{self._arm.server_address[1]}",
            identity_endpoint=f"http://{host}:{self._identity.server_address[1]}/msi/token",
            identity_header=self.identity_header,
            ca_path=str(self.ca_path),
        )

    def start(self) -> EmulatorServer:
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        self.service.faults.release()
        for s in (self._arm, self._identity):
            s.shutdown()
            s.server_close()

    # ----------------------------------------------------------------- identity
    def issue_token(self, path: str, query: dict[str, str], header: str | None) -> tuple[int, dict[str, Any]]:
        if path != "/msi/token":
            return 404, {"statusCode": 404, "message": f"No such endpoint {path}"}
        if header != self.identity_header:
            return 401, {"statusCode": 401, "message": "The X-IDENTITY-HEADER header is missing or wrong."}
        resource = query.get("resource", "").rstrip("/")
        if resource != ARM_AUDIENCE:
            return 400, {"statusCode": 400, "message": f"The emulator issues tokens for {ARM_AUDIENCE} only, not {resource!r}."}
        principal = query.get("client_id") or query.get("mi_res_id") or query.get("object_id") or "system-assigned"
        return 200, {
            "access_token": self.service.tokens.issue(principal),
            "expires_on": str(int(time.time()) + 86400),
            "resource": ARM_AUDIENCE,
            "token_type": "Bearer",
            "client_id": principal,
        }

    # ----------------------------------------------------------------- control plane
    def control(self, method: str, path: str, raw: bytes) -> Response:
        try:
            body = json.loads(raw) if raw else {}
            return self._control(method, path.removeprefix("/_emulator/").rstrip("/"), body)
        except (ValueError, KeyError, TypeError) as err:
            return Response(400, {"error": {"code": "BadControlRequest", "message": str(err)}})

    def _control(self, method: str, what: str, body: Any) -> Response:
        svc, estate = self.service, self.service.estate
        if (method, what) == ("GET", "health"):
            return Response(200, {"ok": True})
        if (method, what) == ("POST", "seed"):
            estate.seed(body.get("resources", []), body.get("subscriptions"))
            return Response(200, {"resources": len(estate.resources)})
        if (method, what) == ("GET", "snapshot"):
            return Response(200, {"resources": estate.snapshot()})
        if (method, what) == ("GET", "requests"):
            return Response(200, {"requests": svc.request_log()})
        if (method, what) == ("DELETE", "requests"):
            svc.clear_log()
            return Response(200, {"requests": []})
        if (method, what) == ("PUT", "settings"):
            with estate.lock:
                if "latency" in body:
                    estate.settings.latency = {k: float(v) for k, v in body["latency"].items()}
                if isinstance(body.get("retryAfter"), dict):  # by resource type, "default" for the rest
                    by_type = {k: int(v) for k, v in body["retryAfter"].items()}
                    estate.settings.retry_after = by_type.pop("default", estate.settings.retry_after)
                    estate.settings.retry_after_by_type = by_type
                elif "retryAfter" in body:
                    estate.settings.retry_after = int(body["retryAfter"])
                    estate.settings.retry_after_by_type = {}
                if "pageSize" in body:
                    estate.settings.page_size = int(body["pageSize"])
            return Response(200, dict(vars(estate.settings)))
        if (method, what) == ("POST", "faults"):
            return Response(200, dict(vars(svc.faults.add(Fault.from_json(body)))))
        if (method, what) == ("GET", "faults"):
            return Response(200, {"faults": svc.faults.describe()})
        if (method, what) == ("DELETE", "faults"):
            svc.faults.clear()
            return Response(200, {"faults": []})
        if (method, what) == ("POST", "release"):
            svc.faults.release()
            return Response(200, {"released": estate.release()})
        if (method, what) == ("PUT", "rbac"):
            svc.configure_rbac(body.get("assignments"))
            return Response(200, {"enforcing": svc.rbac.enforcing})
        if (method, what) == ("PUT", "throttle"):
            limits = {k: (float(v[0]), float(v[1])) for k, v in (body.get("limits") or {}).items()}
            svc.throttle.configure(limits, bool(body.get("enabled", True)), str(body.get("scope", "subscription")))
            network = body.get("network") or {}
            svc.network_limits.configure({k: int(v) for k, v in network.items() if k in {"reads", "writes"}},
                                         float(network.get("window", 300.0)), bool(network.get("enabled", True)))
            return Response(200, {"limits": svc.throttle.limits, "enabled": svc.throttle.enabled, "scope": svc.throttle.scope})
        if (method, what) == ("POST", "updating"):
            seconds = body.get("seconds")
            estate.mark_updating(str(body["id"]), None if seconds is None else float(seconds), str(body.get("answer", "429")),
                                 str(body.get("operation", "PutSubnetOperation")))
            return Response(200, {"updating": sorted(estate.updating.marked)})
        if (method, what) == ("DELETE", "updating"):
            estate.clear_updating()
            return Response(200, {"updating": []})
        if (method, what) == ("DELETE", "resources"):
            return Response(200, {"removed": estate.remove(str(body["id"]))})
        if (method, what) == ("PUT", "locks"):
            with estate.lock:
                estate.locks = {str(s).lower().rstrip("/") for s in body.get("scopes") or []}
            return Response(200, {"locks": sorted(estate.locks)})
        if (method, what) == ("POST", "tokens"):
            return Response(200, {"token": svc.tokens.issue(str(body["principal"]))})
        if (method, what) in {("PUT", "features"), ("PUT", "moves")}:  # emulation/arm/features.py, moves.py
            return Response(200, (svc.moves.features if what == "features" else svc.moves).configure(body))
        if (method, what) == ("GET", "operations"):
            return Response(200, {"inProgress": estate.busy_count(), "hung": svc.faults.hung})
        return Response(404, {"error": {"code": "NoSuchControl", "message": f"{method} /_emulator/{what}"}})
