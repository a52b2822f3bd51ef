"""A simulated NVA: answers TCP, HTTP and HTTPS probes on one loopback address; switchable up/down/hang/503/degraded.

It also answers its HA role, as appliances do: a TCP port open only while it is active (FortiGate's probe-response),
and over HTTP(S) `/role` (200 when active, 503 when standby), `/role.txt` (text ACTIVE / STANDBY, as BIG-IP's
failover-status) and `/role.json` (`{"ha": {"state": "active"|"passive"}}`), optionally slow and needing a header."""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import ssl
import sys

import trustme

MODES = ("up", "down", "hang", "http503", "degraded")  # degraded: 200 with a body saying the data plane is down
ROLES = ("active", "standby")


class SimulatedNva:
    """The appliance's listeners and its mode. `down` closes them (refused); `hang` accepts and never answers."""

    def __init__(self, address: str, tls: ssl.SSLContext, kinds: tuple[str, ...] = ("tcp", "http", "https", "role")) -> None:
        self.address = address
        self.kinds = kinds  # the listeners it opens (a farm of many opens only what its probes use)
        self.tls = tls
        self.mode = "up"
        self.drop_rate = 0.0
        self.ports = {"tcp": 0, "http": 0, "https": 0, "role": 0}
        self.probes = {"tcp": 0, "http": 0, "https": 0, "role": 0}
        self.role = "standby"
        self.role_delay = 0.0
        self.role_header: tuple[str, str] | None = None  # (name, value) the role answers need; 401 without
        self.authorized = 0  # role requests that carried the required header
        self._servers: dict[str, asyncio.Server] = {}
        self._wake = asyncio.Event()

    async def open(self) -> None:
        for kind in self.kinds:
            handler = self._role_tcp if kind == "role" else self._tcp if kind == "tcp" else self._http(kind)
            server = await asyncio.start_server(
                handler, self.address, self.ports[kind], ssl=self.tls if kind == "https" else None, reuse_address=True,
            )
            self.ports[kind] = server.sockets[0].getsockname()[1]
            self._servers[kind] = server
        if self.role != "active":
            await self.close(("role",))  # its port is kept: only the active member accepts on it

    async def close(self, kinds: tuple[str, ...] = ("tcp", "http", "https", "role")) -> None:
        servers = [self._servers.pop(k) for k in kinds if k in self._servers]
        for server in servers:
            server.close()
        for server in servers:
            await server.wait_closed()

    async def set_role(self, role: str, delay: float | None = None, header: dict[str, str] | bool | None = False) -> None:
        """The appliance's own election: active opens the role port, standby closes it. `header` False keeps the current."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, not {role!r}")
        if delay is not None:
            self.role_delay = float(delay)
        if header is not False:
            self.role_header = (str(header["name"]), str(header["value"])) if isinstance(header, dict) else None
        previous, self.role = self.role, role
        if self.mode == "down" or previous == role:
            return
        if role == "active":
            await self._open_role()
        else:
            await self.close(("role",))

    async def _open_role(self) -> None:
        server = await asyncio.start_server(self._role_tcp, self.address, self.ports["role"], reuse_address=True)
        self.ports["role"] = server.sockets[0].getsockname()[1]
        self._servers["role"] = server

    async def set_mode(self, mode: str, drop_rate: float | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        if drop_rate is not None:
            self.drop_rate = drop_rate
        previous, self.mode = self.mode, mode
        self._wake.set()
        self._wake = asyncio.Event()
        if mode == "down" and previous != "down":
            await self.close()
        elif mode != "down" and previous == "down":
            await self.open()

    def _dropped(self) -> bool:
        return self.mode == "hang" or random.random() < self.drop_rate

    async def _hold(self, writer: asyncio.StreamWriter) -> None:
        """Keep a connection open, never answering, until the mode changes."""
        await self._wake.wait()
        writer.close()

    async def _tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.probes["tcp"] += 1
        if self._dropped():
            await self._hold(writer)
            return
        writer.write(b"SSH-2.0-SimulatedNVA\r\n")
        await _close(writer)

    async def _role_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.probes["role"] += 1
        if self._dropped():
            await self._hold(writer)
            return
        await _close(writer)

    def _http(self, kind: str):  # type: ignore[no-untyped-def]
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)).decode("latin-1")
            except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
                writer.close()
                return
            path = head.split(" ", 2)[1] if head.count(" ") >= 2 else "/"
            is_role = path.split("?")[0] in ROLE_PATHS
            self.probes["role" if is_role else kind] += 1
            if self._dropped():
                await self._hold(writer)
                return
            if is_role:
                status, ctype, body = await self._role_answer(path.split("?")[0], _headers(head))
            else:
                status = "503 Service Unavailable" if self.mode == "http503" else "200 OK"
                ctype = "application/json"
                body = json.dumps({"mode": self.mode, "address": self.address,
                                   "dataplane": "down" if self.mode == "degraded" else "up"}).encode()
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n".encode() + body
            )
            await _close(writer)

        return handle

    async def _role_answer(self, path: str, headers: dict[str, str]) -> tuple[str, str, bytes]:
        """The role paths: /role (200 active, 503 standby), /role.txt (ACTIVE / STANDBY), /role.json ({"ha": {"state"}})."""
        if self.role_delay:
            await asyncio.sleep(self.role_delay)
        if self.role_header is not None:
            name, value = self.role_header
            if headers.get(name.lower()) != value:
                return "401 Unauthorized", "text/plain", b"authentication required"
            self.authorized += 1
        active = self.role == "active"
        if path == "/role.txt":
            return "200 OK", "text/plain", b"ACTIVE" if active else b"STANDBY"
        if path == "/role.json":
            return "200 OK", "application/json", json.dumps({"ha": {"state": "active" if active else "passive"}}).encode()
        return ("200 OK" if active else "503 Service Unavailable"), "text/plain", self.role.encode()


ROLE_PATHS = ("/role", "/role.txt", "/role.json")


def _headers(head: str) -> dict[str, str]:
    """Request headers by lower-cased name."""
    out = {}
    for line in head.split("\r\n")[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            out[name.strip().lower()] = value.strip()
    return out


async def _close(writer: asyncio.StreamWriter) -> None:
    try:
        await writer.drain()
    except OSError:
        pass
    writer.close()


async def read_request(reader: asyncio.StreamReader) -> tuple[str, str, bytes]:
    """One control request: its method, path and body (ValueError or IncompleteReadError when it is malformed)."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode()
    length = next((int(line.split(":", 1)[1]) for line in head.split("\r\n") if line.lower().startswith("content-length:")), 0)
    raw = await reader.readexactly(length) if length else b""
    method, path = head.split(" ", 2)[:2]
    return method, path, raw


async def answer_json(writer: asyncio.StreamWriter, status: int, body: object) -> None:
    """A control answer: JSON, then the connection closed."""
    payload = json.dumps(body).encode()
    writer.write(f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
                 "Connection: close\r\n\r\n".encode() + payload)
    await _close(writer)


async def _control(nva: SimulatedNva, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """The control port: `POST /mode` with {"mode", "dropRate"?}, `POST /role` with {"role", "delaySeconds"?, "header"?:
    {"name", "value"} | null}, `GET /status`."""
    try:
        method, path, raw = await read_request(reader)
        status, body = 200, {}
        if (method, path) == ("POST", "/mode"):
            data = json.loads(raw or b"{}")
            await nva.set_mode(str(data.get("mode")), data.get("dropRate"))
        elif (method, path) == ("POST", "/role"):
            data = json.loads(raw or b"{}")
            await nva.set_role(str(data.get("role")), data.get("delaySeconds"), data.get("header", False))
        elif (method, path) != ("GET", "/status"):
            status = 404
        body = {"address": nva.address, "mode": nva.mode, "dropRate": nva.drop_rate, "ports": nva.ports, "probes": nva.probes,
                "role": nva.role, "roleDelaySeconds": nva.role_delay, "authorized": nva.authorized}
    except (ValueError, KeyError, TypeError, asyncio.IncompleteReadError) as err:
        status, body = 400, {"error": str(err)}
    await answer_json(writer, status, body)


async def serve(address: str, control_address: str) -> None:
    ca = trustme.CA()
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(address).configure_cert(tls)
    nva = SimulatedNva(address, tls)
    await nva.open()
    control = await asyncio.start_server(lambda r, w: _control(nva, r, w), control_address, 0)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(json.dumps({
        "address": address, "ports": nva.ports,
        "control": f"http://{control_address}:{control.sockets[0].getsockname()[1]}",
    }), flush=True)
    await stop.wait()
    control.close()
    await nva.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulation.nva", description=__doc__)
    parser.add_argument("--address", required=True, help="loopback address to answer on, e.g. 127.0.0.11")
    parser.add_argument("--control-address", default="127.0.0.1")
    args = parser.parse_args(argv)
    if not args.address.startswith("127."):
        parser.error("simulated NVAs answer on loopback addresses (127.0.0.0/8) only")
    asyncio.run(serve(args.address, args.control_address))
    return 0


if __name__ == "__main__":
    sys.exit(main())
