"""A TCP proxy on loopback that can pass, refuse (nothing listening) or black-hole connections, or delay every request:
Azurite failing, or far away."""

from __future__ import annotations

import socket
import threading
import time

MODES = ("pass", "refuse", "blackhole")


class TcpProxy:
    """Forwards 127.0.0.1:port to a target; `set_mode` refuses new connections or swallows everything sent. `delay`
    seconds are added to everything sent towards the target (each request), whether or not the client still waits."""

    def __init__(self, target: tuple[str, int], host: str = "127.0.0.1", delay: float = 0.0) -> None:
        self.target = target
        self.host = host
        self.delay = delay
        self.mode = "pass"
        self._lock = threading.Lock()
        self._conns: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self.port = 0
        self._listen()

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        for attempt in range(50):  # the previous listener may take a moment to leave LISTEN
            try:
                listener.bind((self.host, self.port))
                break
            except OSError:
                if attempt == 49:
                    raise
                time.sleep(0.02)
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            with self._lock:
                self._conns.append(client)
                mode = self.mode
            if mode == "blackhole":
                continue  # accepted, never answered
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns.append(upstream)
            for a, b, delay in ((client, upstream, self.delay), (upstream, client, 0.0)):
                threading.Thread(target=self._pump, args=(a, b, delay), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket, delay: float = 0.0) -> None:
        try:
            while data := src.recv(65536):
                if delay:
                    time.sleep(delay)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def set_mode(self, mode: str) -> None:
        """Change mode; leaving `pass` also cuts every open connection."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        with self._lock:
            self.mode = mode
            conns, self._conns = (self._conns, []) if mode != "pass" else ([], self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            except OSError:
                pass
        with self._lock:
            if mode == "refuse" and self._listener is not None:
                try:
                    self._listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
                except OSError:
                    pass
                self._listener.close()
                self._listener = None
            elif mode != "refuse" and self._listener is None:
                self._listen()

    def close(self) -> None:
        self.set_mode("refuse")
