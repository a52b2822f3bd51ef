"""Run the Resource Manager emulator as a process: prints its endpoints as one JSON line, serves until stopped."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from .server import EmulatorServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulation.arm", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="HTTPS port for ARM (0: any free port)")
    parser.add_argument("--identity-port", type=int, default=0, help="HTTP port of the managed-identity endpoint")
    parser.add_argument("--state-dir", type=Path, required=True, help="where the CA certificate is written")
    parser.add_argument("--seed", type=Path, help="a topology JSON file ({'resources': [...]}) to load")
    args = parser.parse_args(argv)
    if not args.host.startswith("127.") and args.host not in {"localhost", "::1"}:
        parser.error("the emulator serves loopback addresses only")
    server = EmulatorServer(args.state_dir, args.host, args.port, args.identity_port)
    if args.seed:
        topology = json.loads(args.seed.read_text())
        server.service.estate.seed(topology.get("resources", []), topology.get("subscriptions"))
    server.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(json.dumps(server.endpoints.as_json()), flush=True)
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
