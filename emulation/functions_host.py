"""A small local stand-in for the Functions host: HTTP requests on loopback become azure.functions.HttpRequest objects
for the app's registered HTTP functions, behind a function key (x-functions-key header or ?code=), as Azure does, and
queue-triggered functions run the messages of their queue. For the console's browser test, the CLI's tests and
`make console`; Azure's host does the same with more (keys per function, scaling)."""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import azure.functions as func

from .queuepump import QueuePump, function_handler


@dataclass(frozen=True)
class Route:
    name: str
    pattern: re.Pattern[str]
    methods: frozenset[str]
    handler: Any


def routes(functions: Mapping[str, Any]) -> list[Route]:
    """The HTTP routes of the registered functions (name -> azure.functions Function, as FunctionApp.get_functions() gives)."""
    out = []
    for name, f in functions.items():
        binding = next(b for b in json.loads(f.get_function_json())["bindings"] if b["direction"] == "IN")
        if binding["type"] != "httpTrigger":
            continue
        template = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", binding["route"])
        out.append(Route(name, re.compile(f"/api/{template}", re.IGNORECASE), frozenset(binding["methods"]), f.get_user_function()))
    return sorted(out, key=lambda r: "{" in r.pattern.pattern)  # literal routes first, as the host ranks them


@dataclass
class Host:
    url: str  # http://127.0.0.1:<port>
    key: str
    calls: list[tuple[str, str, int]]  # (method, path, status), for assertions


def _handler(table: list[Route], host: Host) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class names it so)
            pass

        def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            host.calls.append((self.command, urlsplit(self.path).path, status))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            params = dict(parse_qsl(parts.query, keep_blank_values=True))
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            for route in table:
                match = route.pattern.fullmatch(parts.path)
                if match is None:
                    continue
                if self.command not in route.methods:
                    return self._answer(405, b"", {})
                if host.key not in (self.headers.get("x-functions-key"), params.get("code")):
                    return self._answer(401, b"", {})  # the host answers a missing or wrong key with an empty 401
                req = func.HttpRequest(self.command, f"{host.url}{self.path}", headers=dict(self.headers.items()), params=params,
                                       route_params={k: unquote(v) for k, v in match.groupdict().items()}, body=body)
                resp = route.handler(req)
                headers = {k: v for k, v in resp.headers.items() if k.lower() != "content-type"}
                headers["Content-Type"] = f"{resp.mimetype}; charset={resp.charset}"
                return self._answer(resp.status_code, resp.get_body(), headers)
            return self._answer(404, b"", {})

        do_GET = do_POST = do_PUT = do_DELETE = _serve  # noqa: N815 (http.server's names)

    return Handler


def _setting(value: str, env: Mapping[str, str]) -> str | None:
    """A binding property: `%NAME%` is the app setting NAME, as the host resolves it."""
    match = re.fullmatch(r"%(\w+)%", value)
    return env.get(match.group(1)) if match else value


def queue_listeners(functions: Mapping[str, Any], env: Mapping[str, str]) -> list[QueuePump]:
    """A listener for each queue-triggered function whose queue and connection the settings name (polling an empty
    queue every 0.25 s at most, as host.json says); none for a function whose settings are missing."""
    pumps = []
    for f in functions.values():
        binding = next(b for b in json.loads(f.get_function_json())["bindings"] if b["direction"] == "IN")
        if binding["type"] != "queueTrigger":
            continue
        queue, connection = _setting(binding["queueName"], env), env.get(binding["connection"])
        if queue and connection:
            pumps.append(QueuePump(connection, queue, function_handler(f.get_user_function()), max_interval=0.25))
    return pumps


@contextmanager
def serve(functions: Mapping[str, Any], key: str, port: int = 0) -> Iterator[Host]:
    """The app's HTTP functions on loopback (a free port unless `port` is given), and its queue-triggered functions on
    their queues (named by the process's settings), until the block ends."""
    server = ThreadingHTTPServer(("127.0.0.1", port), BaseHTTPRequestHandler)
    host = Host(f"http://127.0.0.1:{server.server_address[1]}", key, [])
    server.RequestHandlerClass = _handler(routes(functions), host)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="functions-host", daemon=True)
    thread.start()
    listeners = [p.start() for p in queue_listeners(functions, dict(os.environ))]
    try:
        yield host
    finally:
        for listener in listeners:
            listener.stop()
        server.shutdown()
        server.server_close()
        thread.join()
