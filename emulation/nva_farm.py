"""Many simulated NVAs in one process, each answering HTTP probes on its own loopback address (real sockets).

A process per NVA is some 30 MiB and a Python start each: a thousand of them do not fit a two-core test machine.
The farm runs emulation.nva's SimulatedNva for every address on one event loop, all on one port, and takes
`POST /mode {"address", "mode"}` and `GET /status` on its control port (answering each NVA's probe count).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import ssl
import sys
from dataclasses import dataclass
from typing import Any

import requests

from .harness import _read_ready_line, _spawn, _stop, free_port
from .nva import SimulatedNva, answer_json, read_request


def farm_address(i: int) -> str:
    """The i-th farm address: 127.20.0.1, …, 127.20.0.200, 127.20.1.1, … (apart from the rigs' 127.0.0.x)."""
    return f"127.20.{i // 200}.{i % 200 + 1}"


async def _control(nvas: dict[str, SimulatedNva], reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        method, path, raw = await read_request(reader)
        status, body = 200, {}
        if (method, path) == ("POST", "/mode"):
            data = json.loads(raw or b"{}")
            await nvas[str(data["address"])].set_mode(str(data.get("mode")))
        elif (method, path) != ("GET", "/status"):
            status = 404
        body = {"nvas": len(nvas), "probes": {a: n.probes["http"] for a, n in nvas.items()},
                "modes": {a: n.mode for a, n in nvas.items() if n.mode != "up"}}
    except (ValueError, KeyError, TypeError, asyncio.IncompleteReadError) as err:
        status, body = 400, {"error": str(err)}
    await answer_json(writer, status, body)


async def serve(count: int, port: int, control_address: str) -> None:
    tls = ssl.create_default_context()  # never used: a farm NVA opens only its HTTP listener
    nvas = {farm_address(i): SimulatedNva(farm_address(i), tls, kinds=("http",)) for i in range(count)}
    for nva in nvas.values():
        nva.ports["http"] = port
        await nva.open()
    control = await asyncio.start_server(lambda r, w: _control(nvas, r, w), control_address, 0)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(json.dumps({"count": count, "port": port, "control": f"http://{control_address}:{control.sockets[0].getsockname()[1]}"}),
          flush=True)
    await stop.wait()
    control.close()
    for nva in nvas.values():
        await nva.close()


@dataclass
class NvaFarm:
    """The client of a farm process: `count` NVAs at farm_address(0…count-1), all answering HTTP on `port`."""

    count: int
    port: int
    control: str
    proc: Any = None

    @classmethod
    def start(cls, count: int, timeout: float = 120.0) -> NvaFarm:
        port = free_port()
        proc = _spawn([sys.executable, "-m", "emulation.nva_farm", "--count", str(count), "--port", str(port)])
        ready = _read_ready_line(proc, f"the farm of {count} simulated NVAs", timeout)
        return cls(ready["count"], ready["port"], ready["control"], proc)

    def probe(self, i: int, path: str = "/health") -> dict[str, Any]:
        """Probe configuration (contract §2) of the i-th NVA."""
        return {"protocol": "http", "address": farm_address(i), "port": self.port, "path": path}

    def set_mode(self, i: int, mode: str) -> None:
        requests.post(f"{self.control}/mode", json={"address": farm_address(i), "mode": mode}, timeout=30).raise_for_status()

    def probes(self) -> dict[str, int]:
        """HTTP probes each NVA has answered, by address."""
        resp = requests.get(f"{self.control}/status", timeout=30)
        resp.raise_for_status()
        return dict(resp.json()["probes"])

    def stop(self) -> None:
        _stop(self.proc)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulation.nva_farm", description=__doc__)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--control-address", default="127.0.0.1")
    args = parser.parse_args(argv)
    asyncio.run(serve(args.count, args.port, args.control_address))
    return 0


if __name__ == "__main__":
    sys.exit(main())
