"""A simulated NVA: answers TCP, HTTP and HTTPS probes on one loopback address; switchable up/down/hang/503."""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import ssl
import sys

import trustme

MODES = ("up", "down", "hang", "http503")


class SimulatedNva:
    """The appliance's listeners and its mode. `down` closes them (refused); `hang` accepts and never answers."""

    def __init__(self, address: str, tls: ssl.SSLContext) -> None:
        self.address = address
        self.tls = tls
        self.mode = "up"
        self.drop_rate = 0.0
        self.ports = {"tcp": 0, "http": 0, "https": 0}
        self.probes = {"tcp": 0, "http": 0, "https": 0}
        self._servers: dict[str, asyncio.Server] = {}
        self._wake = asyncio.Event()

    async def open(self) -> None:
        for kind in ("tcp", "http", "https"):
            handler = self._tcp if kind == "tcp" else self._http(kind)
            server = await asyncio.start_server(
                handler, self.address, self.ports[kind], ssl=self.tls if kind == "https" else None, reuse_address=True,
            )
            self.ports[kind] = server.sockets[0].getsockname()[1]
            self._servers[kind] = server

    async def close(self) -> None:
        for server in self._servers.values():
            server.close()
        for server in self._servers.values():
            await server.wait_closed()
        self._servers.clear()

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

    def _http(self, kind: str):  # type: ignore[no-untyped-def]
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.probes[kind] += 1
            try:
                await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
                writer.close()
                return
            if self._dropped():
                await self._hold(writer)
                return
            status = "503 Service Unavailable" if self.mode == "http503" else "200 OK"
            body = json.dumps({"mode": self.mode, "address": self.address}).encode()
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n".encode() + body
            )
            await _close(writer)

        return handle


async def _close(writer: asyncio.StreamWriter) -> None:
    try:
        await writer.drain()
    except OSError:
        pass
    writer.close()


async def _control(nva: SimulatedNva, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """The control port: `POST /mode` with {"mode", "dropRate"?}, `GET /status`."""
    try:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        length = next((int(line.split(":", 1)[1]) for line in head.split("\r\n") if line.lower().startswith("content-length:")), 0)
        raw = await reader.readexactly(length) if length else b""
        method, path = head.split(" ", 2)[:2]
        status, body = 200, {}
        if (method, path) == ("POST", "/mode"):
            data = json.loads(raw or b"{}")
            await nva.set_mode(str(data.get("mode")), data.get("dropRate"))
        elif (method, path) != ("GET", "/status"):
            status = 404
        body = {"address": nva.address, "mode": nva.mode, "dropRate": nva.drop_rate, "ports": nva.ports, "probes": nva.probes}
    except (ValueError, asyncio.IncompleteReadError) as err:
        status, body = 400, {"error": str(err)}
    payload = json.dumps(body).encode()
    writer.write(f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
                 "Connection: close\r\n\r\n".encode() + payload)
    await _close(writer)


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
