"""Plays the Functions host's queue listener in tests and experiments: poll, decode, run each message in its own thread, delete."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from typing import Any

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.functions.queue import QueueMessage as DeliveredMessage
from azure.storage.queue import QueueClient, QueueMessage

Handler = Callable[[bytes, QueueMessage], Any]
_running: set[QueuePump] = set()  # started pumps, so that a test's timer run can wait for what it queued


def drain_all(timeout: float = 120.0) -> None:
    """Wait until every running pump's queue is empty and its messages have finished (after a timer run, say)."""
    for pump in list(_running):
        pump.drain(timeout)


def function_handler(user_function: Callable[[DeliveredMessage], Any]) -> Handler:
    """Call a registered queue function as the host does, with the azure.functions.QueueMessage its converter builds."""
    def run(body: bytes, message: QueueMessage) -> Any:
        return user_function(DeliveredMessage(
            id=message.id, body=body, pop_receipt=message.pop_receipt, dequeue_count=message.dequeue_count,
            insertion_time=message.inserted_on, expiration_time=message.expires_on, time_next_visible=message.next_visible_on))
    return run


class QueuePump:
    """Like the host: receives up to `batch` messages per poll, runs them concurrently, and deletes each once its
    function returns (a function that raised leaves its message to reappear after the visibility timeout)."""

    def __init__(self, connection_string: str, queue: str, handler: Handler, interval: float = 0.05, batch: int = 16,
                 visibility_timeout: int = 600, max_interval: float | None = None) -> None:
        self.queue = QueueClient.from_connection_string(connection_string, queue)
        self.handler, self.interval, self.batch, self.visibility_timeout = handler, interval, batch, visibility_timeout
        # The host backs off while the queue is empty, doubling the wait up to maxPollingInterval (host.json).
        self.max_interval = max_interval or interval
        self.handled = 0
        self.failed = 0
        self._busy: set[threading.Thread] = set()
        self._polling = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        try:
            self.queue.create_queue()
        except ResourceExistsError:
            pass

    def _run_one(self, message: QueueMessage) -> None:
        try:
            self.handler(base64.b64decode(message.content), message)
        except Exception:
            with self._lock:
                self.failed += 1
        else:
            try:
                self.queue.delete_message(message)
            except ResourceNotFoundError:
                pass
            with self._lock:
                self.handled += 1
        finally:
            with self._lock:
                self._busy.discard(threading.current_thread())

    def poll(self) -> int:
        """Receive what is visible now and start each message; answers how many were started."""
        with self._lock:
            self._polling = True
        try:
            messages = list(self.queue.receive_messages(max_messages=self.batch, visibility_timeout=self.visibility_timeout))
            for message in messages:
                worker = threading.Thread(target=self._run_one, args=(message,), daemon=True)
                with self._lock:
                    self._busy.add(worker)
                worker.start()
        finally:
            with self._lock:
                self._polling = False
        return len(messages)

    def busy(self) -> int:
        """Messages being run, counting a poll in flight (its messages are invisible but not yet started)."""
        with self._lock:
            return len(self._busy) + self._polling

    def drain(self, timeout: float = 120.0) -> None:
        """Poll until the queue is empty and every started message has finished."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            started = self.poll() if self._thread is None else 0
            if not started and not self.busy() and not self._visible():
                return
            time.sleep(self.interval)
        raise TimeoutError(f"queue {self.queue.queue_name} not drained within {timeout:g} s")

    def _visible(self) -> bool:
        return bool(list(self.queue.peek_messages(max_messages=1)))

    def start(self) -> QueuePump:
        """Poll in the background, as the host does, until stop()."""
        def loop() -> None:
            wait = self.interval
            while not self._stop.is_set():
                try:
                    started = self.poll()
                except Exception:
                    started = 0  # the queue service is unreachable for a moment: poll again
                if started:
                    wait = self.interval
                else:
                    self._stop.wait(wait)
                    wait = min(wait * 2, self.max_interval)
        self._thread = threading.Thread(target=loop, name="queue-pump", daemon=True)
        self._thread.start()
        _running.add(self)
        return self

    def stop(self, wait: float = 120.0) -> None:
        _running.discard(self)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(wait)
        deadline = time.monotonic() + wait
        while self.busy() and time.monotonic() < deadline:
            time.sleep(0.05)

    def __enter__(self) -> QueuePump:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
