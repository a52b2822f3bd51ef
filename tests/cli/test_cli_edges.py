"""The CLI at its edges: contract-shaped answers it must render, a terminal for `watch`, an app that accepts and never answers."""

from __future__ import annotations

import json
import os
import pty
import select
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from emulation.functions_host import Host
from tests.cli.conftest import KEY, Cli, base_env, command
from tests.integration.rig import Rig

NOT_READY = {
    "cluster": "hub-fw", "ready": False, "checkedAt": "2026-11-28T03:00:00Z",
    "checks": [
        {"name": "state", "ok": True, "detail": ""},
        {"name": "resources", "ok": True, "detail": ""},
        {"name": "placement", "ok": True, "detail": ""},
        {"name": "standby", "ok": False, "detail": "no standby is healthy: fw-b: connection refused"},
        {"name": "permissions", "ok": False, "detail": "Microsoft.Network/routeTables/write on /subscriptions/s/resourceGroups/spoke-rg"},
    ],
}


@contextmanager
def answering(answers: dict[str, tuple[int, Any]]) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 giving fixed JSON answers by path: the contract's shapes, for what the app may not serve yet."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, body = answers.get(self.path.split("?")[0], (404, {"error": {"code": "NotFound", "message": self.path}}))
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_POST = do_GET  # noqa: N815 - the name http.server dispatches to

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_check_renders_a_contract_readiness_and_exits_4_when_not_ready(offline: Cli) -> None:
    with answering({"/api/clusters/hub-fw/check": (200, NOT_READY)}) as url:
        table = offline("check", "hub-fw", "--url", url, "--key", KEY)
        answer = offline("check", "hub-fw", "--json", "--url", url, "--key", KEY)
    assert table.code == 4 and answer.code == 4
    assert answer.json() == NOT_READY
    lines = table.out.splitlines()
    assert lines[0] == "hub-fw: NOT READY (checked 2026-11-28 03:00:00Z)"
    assert {line.split()[0]: line.split()[1] for line in lines[2:]} == {
        "state": "ok", "resources": "ok", "placement": "ok", "standby": "FAIL", "permissions": "FAIL"}
    assert "Microsoft.Network/routeTables/write" in table.out


def test_status_shows_readiness_and_a_blocked_failover_exits_4(offline: Cli) -> None:
    status = {"name": "hub-fw", "active": "fw-a", "epoch": 3, "phase": "steady", "paused": False,
              "nvas": [{"name": "fw-a", "healthy": True, "consecutiveFailures": 0, "consecutiveSuccesses": 9, "lastProbeAt": None,
                        "lastError": None}],
              "lastFailover": None, "readiness": {"ready": False, "checkedAt": "2026-11-28T03:00:00Z", "failing": ["permissions"]}}
    blocked = {"error": {"code": "FailoverBlocked", "message": "needs Microsoft.Network/routeTables/write"}}
    with answering({"/api/clusters": (200, {"clusters": [status]}), "/api/clusters/hub-fw": (200, status)}) as url:
        table = offline("status", "--url", url, "--key", KEY)
        detail = offline("status", "hub-fw", "--url", url, "--key", KEY)
    assert table.code == 0 and "NOT READY: permissions" in table.out.splitlines()[1]
    assert "readiness  NOT READY: permissions" in detail.out
    with answering({"/api/clusters/hub-fw/failover": (409, blocked)}) as url:
        refused = offline("failover", "hub-fw", "--url", url, "--key", KEY)
    assert refused.code == 4 and "409 FailoverBlocked" in refused.err


def test_an_app_that_never_answers_exits_3(offline: Cli) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # connections complete in the kernel's backlog; nothing ever reads or answers them
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        hung = offline("failover", "hub-fw", "--target", "fw-b", "--timeout", "0.5", "--url", url, "--key", KEY)
    finally:
        listener.close()
    assert hung.code == 3
    assert "no answer within 0.5 s" in hung.err and "the failover may have started" in hung.err


def test_watch_on_a_terminal_redraws_the_screen(app: tuple[Rig, Host], tmp_path: Path) -> None:
    _, host = app
    main, tty = pty.openpty()
    env = base_env(NVA_FAILOVER_URL=host.url, NVA_FAILOVER_KEY=KEY, COLUMNS="200")
    proc = subprocess.Popen([str(command()), "watch", "--count", "2", "--interval", "0.1"], env=env, cwd=tmp_path,
                            stdout=tty, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    os.close(tty)
    screen = b""
    try:
        while True:
            ready, _, _ = select.select([main], [], [], 60)
            assert ready, "watch wrote nothing to its terminal"
            try:
                chunk = os.read(main, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            screen += chunk
    finally:
        assert proc.wait(60) == 0
        os.close(main)
    text = screen.decode()
    assert text.count("\x1b[H\x1b[2J") == 2  # one full redraw per poll
    frame = text.split("\x1b[H\x1b[2J")[-1]
    assert "nva-failover watch" in frame and host.url in frame
    assert "hub-fw" in frame and "EVENTS" in frame


def test_a_failover_still_running_at_the_apps_limit_says_where_to_look(tmp_path: Path) -> None:
    """The app answers 202 when a queued failover outlives its wait: the CLI says it goes on and where to look."""
    running = {"cluster": "hub-fw", "epoch": 4, "from": "fw-a", "to": "fw-b", "status": "running",
               "statusUrl": "/api/clusters/hub-fw", "historyUrl": "/api/clusters/hub-fw/history"}

    def this_cli(*args: str) -> subprocess.CompletedProcess[str]:  # this repository's CLI package, whichever is installed
        env = {**base_env(), "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "cli")}
        return subprocess.run([sys.executable, "-c", "import sys; from nva_failover_cli.main import main; sys.exit(main())", *args],
                              env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)

    with answering({"/api/clusters/hub-fw/failover": (202, running)}) as url:
        text = this_cli("failover", "hub-fw", "--target", "fw-b", "--url", url, "--key", KEY)
        as_json = this_cli("failover", "hub-fw", "--target", "fw-b", "--json", "--url", url, "--key", KEY)
    assert text.returncode == 0, text.stderr
    assert "epoch 4 still running" in text.stdout and "nva-failover status hub-fw" in text.stdout
    assert as_json.returncode == 0 and json.loads(as_json.stdout) == running
