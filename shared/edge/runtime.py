"""The engine of the running app: built on first use from the process settings, rebuilt when they change."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

from shared.adapters.connection import connection_settings
from shared.domain.messages import Dispatch
from shared.edge.engine import Engine
from shared.edge.settings import build_engine
from shared.errors import ConfigError
from shared.events import emit

SETTINGS = (
    "NVA_HA_CONFIG", "NVA_HA_CONFIG_FILE", "NVA_HA_STATE_TABLE", "NVA_HA_ARM_ENDPOINT", "AZURE_CLIENT_ID",
    "NVA_HA_POLL_INTERVAL_SECONDS", "NVA_HA_PROBE_SCHEDULE", "IDENTITY_ENDPOINT", "REQUESTS_CA_BUNDLE",
    "NVA_HA_QUEUE", "NVA_HA_MANUAL_WAIT_SECONDS",  # the executor's queue lives in AzureWebJobsStorage:
    "AzureWebJobsStorage", "AzureWebJobsStorage__queueServiceUri", "AzureWebJobsStorage__accountName",
    "AzureWebJobsStorage__credential", "AzureWebJobsStorage__clientId",
)


class Runtime:
    """Holds one engine per distinct settings; nothing is read at import time."""

    def __init__(self, app_root: Path) -> None:
        self.app_root = app_root
        self._lock = threading.Lock()
        self._key: str | None = None
        self._engine: Engine | None = None

    def engine(self) -> Engine:
        env = dict(os.environ)
        config_file = env.get("NVA_HA_CONFIG_FILE")
        stamp = ""
        if config_file:
            try:
                stamp = str((self.app_root / config_file).stat().st_mtime_ns)
            except OSError:
                stamp = "missing"
        key = hashlib.sha256(repr([env.get(k) for k in SETTINGS] + [connection_settings(env), stamp]).encode()).hexdigest()
        with self._lock:
            if self._engine is None or key != self._key:
                self._engine = build_engine(env, self.app_root)
                self._key = key
            return self._engine

    def probe_cycle(self) -> dict[str, str]:
        """The timer's run: with a rejected configuration, change nothing and raise ConfigInvalid."""
        try:
            engine = self.engine()
        except ConfigError as err:
            emit("ConfigInvalid", "*", error=str(err))
            return {"*": f"config invalid: {err}"}
        return engine.probe_cycle()

    def execute(self, body: bytes) -> str:
        """The queue trigger's run: never raises, so a message is never retried into the poison queue; a change that
        did not finish keeps its journal, and the next timer run dispatches it again when its lease lapses."""
        try:
            message = Dispatch.parse(body)
        except ValueError as err:
            emit("RunFailed", "*", error=f"queue message dropped: {err}", kind="InvalidMessage", trigger="queue")
            return f"dropped: {err}"
        try:
            engine = self.engine()
        except ConfigError as err:
            emit("ConfigInvalid", "*", error=str(err))
            return f"config invalid: {err}"
        return engine.execute(message.cluster, message)
