"""An actor process (an instance of the app): probe cycles, and the executor running what they queue (racing and crash tests)."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from emulation.queuepump import QueuePump
from shared.domain.messages import Dispatch
from shared.edge.settings import build_engine


def main() -> None:
    cycles, interval = int(sys.argv[1]), float(sys.argv[2])
    start_at = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0  # wall-clock time of the first cycle, to race others
    engine = build_engine(os.environ, Path(__file__).resolve().parents[2])
    time.sleep(max(0.0, start_at - time.time()))

    def run(body: bytes, _: Any) -> None:  # this process is an instance of the app: its executor runs what it queues
        message = Dispatch.parse(body)
        engine.execute(message.cluster, message)

    settings = dict(os.environ)
    with QueuePump(settings["AzureWebJobsStorage"], settings["NVA_HA_QUEUE"], run):
        for _ in range(cycles):
            print(json.dumps(engine.probe_cycle()), flush=True)
            time.sleep(interval)


if __name__ == "__main__":
    main()
