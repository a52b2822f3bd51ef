"""Hands a locked change to the executor: a message on an Azure Storage queue in the app's own host storage."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError
from azure.storage.queue import QueueClient, TextBase64EncodePolicy

from shared.domain.messages import Dispatch
from shared.errors import PermanentError, TransientError

# A hung or unreachable queue must not stall the timer (contract §6 "Never stuck"): connecting gives up within half a
# second, unretried, and the run carries the change out itself; after a failure the queue rests for BREAK_SECONDS.
CLIENT_OPTIONS: dict[str, Any] = {"connection_timeout": 0.5, "read_timeout": 2, "retry_total": 0}
BREAK_SECONDS = 30.0

class QueueDispatcher:
    """Sends to one Azure Storage queue (base64 text, what the Functions queue trigger reads), creating it on first use."""

    def __init__(self, queue: QueueClient, break_seconds: float = BREAK_SECONDS,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._queue = queue
        self._lock = threading.Lock()
        self._break_seconds = break_seconds
        self._monotonic = monotonic
        self._open_until = 0.0  # a breaker: after a failure, fail at once until then
        self._last_error = ""

    def dispatch(self, message: Dispatch) -> None:
        if self._monotonic() < self._open_until:
            raise TransientError(f"queue {self._queue.queue_name}: not tried for {self._break_seconds:g} s after a failure "
                                 f"({self._last_error})")
        try:
            self._send(message)
        except TransientError as err:
            self._last_error = str(err)[:300]
            self._open_until = self._monotonic() + self._break_seconds
            raise
        self._open_until = 0.0

    def _send(self, message: Dispatch) -> None:
        try:
            try:
                self._queue.send_message(message.to_json())
            except ResourceNotFoundError:
                with self._lock:
                    try:
                        self._queue.create_queue()
                    except ResourceExistsError:
                        pass
                self._queue.send_message(message.to_json())
        except AzureError as err:
            raise TransientError(f"queue {self._queue.queue_name}: {err}") from err


def queue_client_from_settings(env: Mapping[str, str], queue: str,
                               credential_factory: Callable[[str | None], TokenCredential]) -> QueueClient:
    """The executor's queue in AzureWebJobsStorage (the connection its trigger listens on): a connection string, or
    identity-based (__queueServiceUri / __accountName, with __credential and __clientId)."""
    policy = TextBase64EncodePolicy()
    conn = env.get("AzureWebJobsStorage")
    if conn:
        return QueueClient.from_connection_string(conn, queue, message_encode_policy=policy, **CLIENT_OPTIONS)
    uri = env.get("AzureWebJobsStorage__queueServiceUri")
    account = env.get("AzureWebJobsStorage__accountName")
    if not uri and account:
        uri = f"https://{account}.queue.core.windows.net"
    if not uri:
        raise PermanentError(
            "AzureWebJobsStorage: set a connection string, or AzureWebJobsStorage__queueServiceUri / __accountName")
    client_id = env.get("AzureWebJobsStorage__clientId") if env.get("AzureWebJobsStorage__credential") == "managedidentity" else None
    return QueueClient(uri, queue, credential=credential_factory(client_id), message_encode_policy=policy, **CLIENT_OPTIONS)
