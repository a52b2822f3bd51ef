"""What is deployed and how it is bound: function.json of each function, OpenAPI, the .funcignore package, settings."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pathspec

from shared.edge.api import STATUS_CODES
from tests.functions.registered import functions

ROOT = Path(__file__).resolve().parents[2]
ROUTES = {
    "list_clusters": ("clusters", ["GET"], "list"),
    "get_cluster": ("clusters/{cluster}", ["GET"], "get"),
    "failover": ("clusters/{cluster}/failover", ["POST"], "failover"),
    "pause": ("clusters/{cluster}/pause", ["POST"], "pause"),
    "resume": ("clusters/{cluster}/resume", ["POST"], "resume"),
    "check": ("clusters/{cluster}/check", ["GET"], "check"),
    "history": ("clusters/{cluster}/history", ["GET"], "history"),
    "console": ("console", ["GET"], "console"),
}


def bindings() -> dict[str, dict[str, object]]:
    out = {}
    for f in functions().values():
        doc = json.loads(f.get_function_json())
        trigger = [b for b in doc["bindings"] if b["direction"] == "IN"]
        assert len(trigger) == 1
        out[f.get_function_name()] = trigger[0]
    return out


def test_function_bindings() -> None:
    found = bindings()
    assert set(found) == {"probe", "execute", *ROUTES}
    timer = found["probe"]
    assert timer["type"] == "timerTrigger"
    assert timer["schedule"] == "%NVA_HA_PROBE_SCHEDULE%"
    assert timer["runOnStartup"] is False
    executor = found["execute"]  # the changes the timer and the API lock, carried out from the host's own storage
    assert (executor["type"], executor["queueName"], executor["connection"]) == ("queueTrigger", "%NVA_HA_QUEUE%", "AzureWebJobsStorage")
    for name, (route, methods, _) in ROUTES.items():
        b = found[name]
        assert (b["type"], b["route"], b["methods"], b["authLevel"]) == ("httpTrigger", route, methods, "FUNCTION"), name


def test_openapi_matches_every_registered_route_and_status() -> None:
    spec = json.loads((ROOT / "openapi.json").read_text())
    assert spec["openapi"].startswith("3.")
    registered = {}
    for name, b in bindings().items():
        if b["type"] == "httpTrigger":
            for method in b["methods"]:  # type: ignore[attr-defined]
                registered[(f"/api/{b['route']}", method.lower())] = ROUTES[name][2]
    documented = {(path, method) for path, ops in spec["paths"].items() for method in ops}
    assert documented == set(registered)
    for (path, method), operation in registered.items():
        codes = {int(c) for c in spec["paths"][path][method]["responses"]}
        assert codes == STATUS_CODES[operation], (path, method)


def package() -> set[str]:
    """The files `func azure functionapp publish` uploads: the tree less what .funcignore names."""
    spec = pathspec.GitIgnoreSpec.from_lines((ROOT / ".funcignore").read_text().splitlines())
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout.split()
    return {f for f in listed if (ROOT / f).is_file() and not spec.match_file(f)}


def test_deployment_package_holds_the_app_and_nothing_of_tests_or_emulation() -> None:
    files = package()
    assert {"function_app.py", "host.json", "requirements.txt", "shared/__init__.py", "shared/edge/engine.py",
            "shared/edge/console.html"} <= files
    assert all(f in {"function_app.py", "host.json", "requirements.txt", "nva-ha.json"} or f.startswith("shared/") for f in files), \
        sorted(files)
    for f in files:
        assert not f.startswith(("tests/", "emulation/", "infra/", "bench/", "chaos/", "cli/", "node_modules/", ".venv/"))


def test_requirements_are_runtime_only_and_ranged() -> None:
    lines = [ln.strip() for ln in (ROOT / "requirements.txt").read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    names = {re.split(r"[<>=!~ ]", ln)[0].lower() for ln in lines}
    assert "azure-functions-worker" not in names
    assert names.isdisjoint({"pytest", "hypothesis", "ruff", "mypy", "trustme", "pathspec"})
    assert {"azure-functions", "azure-identity", "azure-mgmt-network", "azure-data-tables", "azure-storage-queue",
            "azure-monitor-opentelemetry"} <= names
    for ln in lines:
        assert ">=" in ln and "<" in ln, f"{ln}: pin a compatible range"


def test_host_json_and_local_settings_template() -> None:
    host = json.loads((ROOT / "host.json").read_text())
    assert host["version"] == "2.0" and host["telemetryMode"] == "OpenTelemetry"
    assert host["extensionBundle"]["id"] == "Microsoft.Azure.Functions.ExtensionBundle"
    hours, minutes, seconds = (int(x) for x in host["functionTimeout"].split(":"))
    assert hours * 3600 + minutes * 60 + seconds >= 2 * 180 + 2 * 60  # detach + attach deadlines, then two reads
    assert "Event" in host["logging"]["applicationInsights"]["samplingSettings"]["excludedTypes"]
    values = json.loads((ROOT / "local.settings.json.template").read_text())["Values"]
    for setting in ("NVA_HA_PROBE_SCHEDULE", "NVA_HA_STATE_TABLE", "AzureWebJobsStorage", "NVA_HA_ARM_ENDPOINT", "AZURE_CLIENT_ID",
                    "PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY"):
        assert setting in values
    assert "NVA_HA_CONFIG" in values or "NVA_HA_CONFIG_FILE" in values
    assert values["NVA_HA_PROBE_SCHEDULE"] == "*/5 * * * * *" and len(values["NVA_HA_PROBE_SCHEDULE"].split()) == 6
    ignored = subprocess.run(["git", "check-ignore", "local.settings.json"], cwd=ROOT, capture_output=True, text=True)
    assert ignored.returncode == 0, "local.settings.json must be ignored by git"
