"""Start and stop the emulated world (ARM emulator, Azurite, simulated NVAs) as processes on free loopback ports."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from .control import EmulatorControl

ROOT = Path(__file__).resolve().parent.parent
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


class StartError(RuntimeError):
    """A piece of the emulated world did not come up."""


def _read_ready_line(proc: subprocess.Popen[str], what: str, timeout: float) -> dict[str, Any]:
    """The first stdout line of a child, parsed as JSON, within the timeout."""
    box: list[str] = []
    reader = threading.Thread(target=lambda: box.append(proc.stdout.readline() if proc.stdout else ""), daemon=True)
    reader.start()
    reader.join(timeout)
    if not box or not box[0].strip():
        proc.kill()
        err = proc.stderr.read() if proc.stderr and proc.poll() is not None else ""
        raise StartError(f"{what} did not start within {timeout:.0f}s: {err[-2000:]}")
    return dict(json.loads(box[0]))


def _stop(proc: subprocess.Popen[str] | None, timeout: float = 5.0) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout)


def _spawn(args: list[str], cwd: Path = ROOT) -> subprocess.Popen[str]:
    return subprocess.Popen(
        args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd,
    )


@dataclass
class ArmEmulator:
    """A running emulator process and what clients need to use it."""

    arm_url: str
    identity_endpoint: str
    identity_header: str
    ca_path: str
    proc: subprocess.Popen[str] | None = None
    state_dir: Path | None = None
    control: EmulatorControl = field(init=False)

    def __post_init__(self) -> None:
        self.control = EmulatorControl(self.arm_url, self.ca_path)

    @classmethod
    def start(cls, state_dir: Path | None = None, timeout: float = 30.0) -> ArmEmulator:
        state = state_dir or Path(tempfile.mkdtemp(prefix="arm-emulator-"))
        proc = _spawn([sys.executable, "-m", "emulation.arm", "--state-dir", str(state)])
        ready = _read_ready_line(proc, "the ARM emulator", timeout)
        return cls(proc=proc, state_dir=state, **ready)

    def env(self) -> dict[str, str]:
        """Settings that point the product (and azure-identity) at this emulator."""
        return {
            "NVA_HA_ARM_ENDPOINT": self.arm_url,
            "IDENTITY_ENDPOINT": self.identity_endpoint,
            "IDENTITY_HEADER": self.identity_header,
            "REQUESTS_CA_BUNDLE": self.ca_path,
        }

    def stop(self) -> None:
        _stop(self.proc)
        if self.state_dir is not None:
            shutil.rmtree(self.state_dir, ignore_errors=True)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _wait_port(host: str, port: int, proc: subprocess.Popen[str], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


@dataclass
class Azurite:
    """Running Azurite Table and Queue services (in memory, telemetry off) on free loopback ports."""

    port: int
    proc: subprocess.Popen[str] | None = None
    workdir: Path | None = None
    host: str = "127.0.0.1"
    queue_port: int = 0
    queue_proc: subprocess.Popen[str] | None = None
    queue_workdir: Path | None = None

    @staticmethod
    def binary(service: str = "table") -> Path:
        path = ROOT / "node_modules" / ".bin" / f"azurite-{service}"
        if not path.exists():
            raise StartError(f"{path} is missing: run `npm ci` (make does it) to install Azurite")
        return path

    @classmethod
    def _start_one(cls, service: str, timeout: float, attempts: int) -> tuple[int, subprocess.Popen[str], Path]:
        binary = cls.binary(service)
        last = ""
        for _ in range(attempts):
            port = free_port()
            workdir = Path(tempfile.mkdtemp(prefix=f"azurite-{service}-"))
            proc = _spawn([
                str(binary), f"--{service}Host", "127.0.0.1", f"--{service}Port", str(port), "--inMemoryPersistence",
                "--disableTelemetry", "--silent",
                # The queue SDK speaks a newer service version than the last Azurite that runs on Node 20 knows.
                *(["--skipApiVersionCheck"] if service == "queue" else []),
            ], cwd=workdir)
            if _wait_port("127.0.0.1", port, proc, timeout):
                return port, proc, workdir
            _stop(proc)
            last = proc.stderr.read() if proc.stderr else ""
            shutil.rmtree(workdir, ignore_errors=True)
        raise StartError(f"Azurite ({service}) did not start: {last[-2000:]}")

    @classmethod
    def start(cls, timeout: float = 30.0, attempts: int = 3) -> Azurite:
        port, proc, workdir = cls._start_one("table", timeout, attempts)
        try:
            queue_port, queue_proc, queue_dir = cls._start_one("queue", timeout, attempts)
        except StartError:
            _stop(proc)
            raise
        return cls(port=port, proc=proc, workdir=workdir, queue_port=queue_port, queue_proc=queue_proc, queue_workdir=queue_dir)

    @property
    def table_endpoint(self) -> str:
        return f"http://{self.host}:{self.port}/{AZURITE_ACCOUNT}"

    @property
    def queue_endpoint(self) -> str:
        return f"http://{self.host}:{self.queue_port}/{AZURITE_ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
            f"TableEndpoint={self.table_endpoint};QueueEndpoint={self.queue_endpoint};"
        )

    def stop(self) -> None:
        _stop(self.queue_proc)
        _stop(self.proc)
        for workdir in (self.workdir, self.queue_workdir):
            if workdir is not None:
                shutil.rmtree(workdir, ignore_errors=True)


@dataclass
class NvaProcess:
    """A simulated NVA process on one loopback address, controlled over its control port."""

    address: str
    ports: dict[str, int]
    control: str
    proc: subprocess.Popen[str] | None = None

    @classmethod
    def start(cls, address: str, timeout: float = 20.0) -> NvaProcess:
        proc = _spawn([sys.executable, "-m", "emulation.nva", "--address", address])
        ready = _read_ready_line(proc, f"the simulated NVA on {address}", timeout)
        return cls(proc=proc, **ready)

    def set_mode(self, mode: str, drop_rate: float | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"mode": mode}
        if drop_rate is not None:
            body["dropRate"] = drop_rate
        resp = requests.post(f"{self.control}/mode", json=body, timeout=10)
        resp.raise_for_status()
        return dict(resp.json())

    def set_role(self, role: str, delay: float | None = None, header: dict[str, str] | bool | None = False) -> dict[str, Any]:
        """The appliance's own election: `active` or `standby`; `delay` seconds before each role answer; `header`
        {"name", "value"} the role answers need (None: none; False: unchanged)."""
        body: dict[str, Any] = {"role": role}
        if delay is not None:
            body["delaySeconds"] = delay
        if header is not False:
            body["header"] = header
        resp = requests.post(f"{self.control}/role", json=body, timeout=10)
        resp.raise_for_status()
        return dict(resp.json())

    def status(self) -> dict[str, Any]:
        resp = requests.get(f"{self.control}/status", timeout=10)
        resp.raise_for_status()
        return dict(resp.json())

    def stop(self) -> None:
        _stop(self.proc)


def http_probes(nvas: dict[str, NvaProcess], path: str = "/") -> dict[str, dict[str, Any]]:
    """Probe configuration (contract §2) for simulated NVAs: HTTP to each one's own loopback address."""
    return {name: {"protocol": "http", "address": nva.address, "port": nva.ports["http"], "path": path} for name, nva in nvas.items()}


ROLE_FORMS = ("tcp", "status", "text", "json")


def role_probe(nva: NvaProcess, form: str = "json", headers: dict[str, str] | None = None) -> dict[str, Any]:
    """Role configuration (contract §2 `role`) for a simulated NVA, in one of its forms: `tcp` (the port only the active
    member opens), `status` (/role: 200 or 503), `text` (/role.txt, ACTIVE or STANDBY), `json` (/role.json, /ha/state)."""
    if form == "tcp":
        return {"protocol": "tcp", "address": nva.address, "port": nva.ports["role"]}
    base: dict[str, Any] = {"protocol": "http", "address": nva.address, "port": nva.ports["http"], **({"headers": headers} if headers else {})}
    if form == "status":
        return {**base, "path": "/role", "activeWhen": {"status": [200]}}
    if form == "text":
        return {**base, "path": "/role.txt", "activeWhen": {"status": [200], "bodyContains": "ACTIVE"}}
    if form == "json":
        return {**base, "path": "/role.json", "activeWhen": {"json": {"pointer": "/ha/state", "equals": "active"}}}
    raise ValueError(f"form must be one of {ROLE_FORMS}, not {form!r}")


def app_settings(arm: ArmEmulator, config: dict[str, Any], storage: str, table: str, **extra: str) -> dict[str, str]:
    """App settings (contract §3) that point the product at the emulated world."""
    return {**arm.env(), "NVA_HA_CONFIG": json.dumps(config), "AzureWebJobsStorage": storage, "NVA_HA_STATE_TABLE": table,
            "NVA_HA_QUEUE": "nva-ha-changes", **extra}  # the queue trigger reads %NVA_HA_QUEUE%: infra sets it, so do we
