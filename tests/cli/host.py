"""A small stand-in for the Functions host: serves function_app.py's registered HTTP functions on 127.0.0.1 with a function key."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import azure.functions as func

from tests.functions.registered import functions


@dataclass(frozen=True)
class Route:
    name: str
    pattern: re.Pattern[str]
    methods: frozenset[str]
    handler: Any


@cache
def routes() -> list[Route]:
    """Every httpTrigger of the app, its route template (`clusters/{cluster}`) as a pattern under /api/."""
    out = []
    for f in functions().values():
        doc = json.loads(f.get_function_json())
        trigger = next(b for b in doc["bindings"] if b["direction"] == "IN")
        if trigger["type"] != "httpTrigger":
            continue
        assert trigger["authLevel"] == "FUNCTION", f"{f.get_function_name()}: every route needs a function key"
        template = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(trigger["route"]))
        out.append(Route(f.get_function_name(), re.compile(f"^/api/{template}$"), frozenset(trigger["methods"]),
                         f.get_user_function()))
    return out


@dataclass
class FunctionHost:
    """What the CLI talks to: the real function code behind a real HTTP server and a function key."""

    key: str
    server: ThreadingHTTPServer | None = None
    calls: list[tuple[str, str, int]] = field(default_factory=list)

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, str, bytes, dict[str, str]]:
        parts = urlsplit(target)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        given = headers.get("x-functions-key") or query.get("code")
        if given != self.key:
            return 401, "text/plain", b"", {}  # the Functions host answers a missing or wrong key with an empty 401
        for route in routes():
            match = route.pattern.match(parts.path)
            if match and method in route.methods:
                req = func.HttpRequest(method, f"{self.url}{target}", headers=headers, params=query, route_params=match.groupdict(),
                                       body=body)
                resp = route.handler(req)
                extra = {k: v for k, v in resp.headers.items() if k.lower() not in {"content-type", "content-length"}}
                return resp.status_code, resp.mimetype or "application/octet-stream", resp.get_body(), extra
        return 404, "text/plain", b"", {}


def _handler(host: FunctionHost) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, mimetype, payload, extra = host.handle(self.command, self.path, headers, body)
            host.calls.append((self.command, self.path, status))
            self.send_response(status)
            self.send_header("Content-Type", mimetype)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = _serve  # noqa: N815 - the names http.server dispatches to

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            pass

    return Handler


@contextmanager
def function_host(key: str) -> Iterator[FunctionHost]:
    host = FunctionHost(key)
    host.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(host))
    thread = threading.Thread(target=host.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield host
    finally:
        host.server.shutdown()
        host.server.server_close()
        thread.join(5)
