"""One racing actor process (an instance of the app): probe cycles and random manual failovers until told to stop, and
the executor running what lands on the queue; every write recorded."""

from __future__ import annotations

import json
import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

from chaos.lab import PATIENT, QUICK, ROOT, executor_pump
from chaos.recording import RecordingStore
from shared.control.context import utc_now
from shared.domain.policy import ManualRequest
from shared.edge.settings import build_engine
from shared.errors import EngineError


def main() -> None:
    actor, history, stop, seed = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
    rng = random.Random(seed)
    options = sys.argv[5:]  # "patient"; "skew=<seconds>": this instance's clock runs that far ahead (or behind)
    engine = build_engine(os.environ, ROOT, PATIENT if "patient" in options else QUICK, actor)
    engine.store = RecordingStore(engine.store, history, actor)
    skew = timedelta(seconds=sum(float(o.split("=", 1)[1]) for o in options if o.startswith("skew=")))
    if skew:
        engine.clock = lambda: utc_now() + skew
    cycles = manual = 0
    pump = executor_pump(engine, os.environ).start()
    while not stop.exists():
        if rng.random() < 0.15:
            try:
                engine.failover("hub-fw", ManualRequest(target=rng.choice(["fw-a", "fw-b", None]), reason=f"chaos {actor}"))
            except EngineError:
                pass  # refused (409/503): that is an answer, not a failure
            manual += 1
        else:
            engine.probe_cycle()
            cycles += 1
        time.sleep(rng.random() * 0.3)
    pump.stop()
    print(json.dumps({"actor": actor, "cycles": cycles, "manual": manual}), flush=True)


if __name__ == "__main__":
    main()
