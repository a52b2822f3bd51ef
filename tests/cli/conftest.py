"""Fixtures for the CLI: the app's functions behind a local host with a function key, and the installed `nva-failover` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from azure.functions.timer import TimerRequest

from emulation.functions_host import Host, serve
from emulation.queuepump import drain_all
from tests.functions.registered import functions
from tests.integration.rig import Rig

KEY = "test-function-key-0123456789"
COMMAND = Path(sys.executable).parent / "nva-failover"


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


Cli = Callable[..., Result]


def command() -> Path:
    """The console script the CLI's package installs next to this interpreter (make setup: pip install -e .)."""
    if not COMMAND.exists():
        pytest.fail(f"{COMMAND} is missing: install the CLI into this virtualenv with `{sys.executable} -m pip install -e .` "
                    "(make setup does)")
    return COMMAND


def run(args: list[str], env: dict[str, str], cwd: Path) -> Result:
    proc = subprocess.run([str(command()), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def base_env(**extra: str) -> dict[str, str]:
    """The test process's environment (which points azure-identity at the emulator), without the repository on PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "NVA_FAILOVER_URL", "NVA_FAILOVER_KEY"}}
    return {**env, **extra}


def tick(times: int = 1) -> None:
    """Runs of the app's timer function."""
    for _ in range(times):
        functions()["probe"].get_user_function()(TimerRequest())
        drain_all()  # what the run queued, carried out by the served app's executor


@pytest.fixture
def app(world: Rig, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Rig, Host]]:
    """The app's settings for the emulated world, its HTTP functions served on 127.0.0.1, two probe runs done."""
    for name, value in world.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("NVA_HA_PROBE_SCHEDULE", "*/5 * * * * *")
    monkeypatch.delenv("NVA_HA_CONFIG_FILE", raising=False)
    tick(2)
    with serve(functions(), KEY) as host:
        yield world, host


@pytest.fixture
def cli(app: tuple[Rig, Host], tmp_path: Path) -> Cli:
    """`nva-failover ARGS…` against the served app, URL and key from the environment (as an operator's shell has them)."""
    _, host = app

    def call(*args: str, **env: str) -> Result:
        return run(list(args), base_env(**{"NVA_FAILOVER_URL": host.url, "NVA_FAILOVER_KEY": KEY, **env}), tmp_path)

    return call


@pytest.fixture
def offline(tmp_path: Path) -> Cli:
    """`nva-failover ARGS…` with no app at all."""

    def call(*args: str, **env: str) -> Result:
        return run(list(args), base_env(**env), tmp_path)

    return call
