"""The host's view of the app: the Functions worker's own indexing of function_app.py, checked against the Functions
function.json and host.json JSON schemas and against the contract (names, triggers, schedule, routes, methods, auth).

The worker library (azure-functions-runtime, Python 3.13) runs in `.venv-host` (`make host-env`), answering the
WorkerInitRequest and FunctionsMetadataRequest messages of the vendored host<->worker protocol. The same checks run on
the bindings azure-functions builds in this environment (get_function_json()), so both views must agree.
"""

from __future__ import annotations

import json
import re
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator

from tests.functions.registered import functions

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "host_view"
HOST_PYTHON = ROOT / ".venv-host" / "bin" / "python"
# Contract §4: route template -> method. Functions not listed here must not exist; the core ones must.
CONTRACT_ROUTES = {
    "clusters": "GET", "clusters/{cluster}": "GET", "clusters/{cluster}/failover": "POST",
    "clusters/{cluster}/pause": "POST", "clusters/{cluster}/resume": "POST", "clusters/{cluster}/history": "GET",
    "clusters/{cluster}/check": "GET", "console": "GET",
}
CORE_ROUTES = {"clusters", "clusters/{cluster}", "clusters/{cluster}/failover", "clusters/{cluster}/pause",
               "clusters/{cluster}/resume"}
# Enum values the worker writes in upper case ("IN", "FUNCTION", "GET"); the host reads them without regard to case
# (its JSON enum converter), the schemas list them in lower case.
CASELESS = ("direction", "authLevel")


def function_validator() -> Draft7Validator:
    """function.json's schema declares draft-04 but uses `const` (draft-06 on), as SchemaStore's own validator reads it;
    read strictly as draft-04, its sql and mySql alternatives would match every binding and fail every http binding's oneOf."""
    return Draft7Validator(schema("function.json"))


def schema(name: str) -> dict[str, Any]:
    return dict(json.loads((DATA / "schemas" / name).read_text()))


@cache
def worker_view() -> dict[str, Any]:
    if not HOST_PYTHON.exists():
        pytest.skip(f"{HOST_PYTHON} is missing: `make host-env` builds the host-view environment (Python 3.13)")
    run = subprocess.run([str(HOST_PYTHON), str(DATA / "index.py"), str(ROOT), str(DATA / "protos")],
                         capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    return dict(json.loads(run.stdout))


def function_json(raw_bindings: list[dict[str, Any]], script_file: str, entry_point: str | None = None) -> dict[str, Any]:
    """A function.json document as the host reads it, enum values in the schema's case."""
    bindings = []
    for binding in raw_bindings:
        b = dict(binding)
        for key in CASELESS:
            if isinstance(b.get(key), str):
                b[key] = b[key].lower()
        if isinstance(b.get("methods"), list):
            b["methods"] = [m.lower() for m in b["methods"]]
        bindings.append(b)
    doc: dict[str, Any] = {"scriptFile": script_file, "bindings": bindings}
    if entry_point:
        doc["entryPoint"] = entry_point
    return doc


def sdk_view() -> dict[str, dict[str, Any]]:
    return {name: json.loads(f.get_function_json()) for name, f in functions().items()}


def check_functions(docs: dict[str, dict[str, Any]]) -> None:
    """Every function valid against function.json, and as the contract says."""
    validator = function_validator()
    routes: dict[str, str] = {}
    for name, doc in docs.items():
        errors = [f"{name}: {'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]
        assert errors == [], errors
        assert doc["scriptFile"] == "function_app.py"
        names = [b["name"] for b in doc["bindings"]]
        assert len(names) == len(set(names)) and all(names), (name, names)
        triggers = [b for b in doc["bindings"] if b["type"].endswith("Trigger")]
        assert len(triggers) == 1 and triggers[0]["direction"] == "in", (name, triggers)
        trigger = triggers[0]
        if trigger["type"] == "timerTrigger":
            assert (name, trigger["schedule"], trigger["useMonitor"], trigger["runOnStartup"]) == (
                "probe", "%NVA_HA_PROBE_SCHEDULE%", True, False)
            continue
        if trigger["type"] == "queueTrigger":  # the executor: what the timer and the API lock, from the host's own storage
            assert (name, trigger["queueName"], trigger["connection"]) == ("execute", "%NVA_HA_QUEUE%", "AzureWebJobsStorage")
            assert [b for b in doc["bindings"] if b["direction"] == "out"] == [], name
            continue
        assert trigger["type"] == "httpTrigger", (name, trigger)
        assert trigger["authLevel"] == "function", (name, trigger)
        route = trigger["route"]
        assert route in CONTRACT_ROUTES, f"{name}: route {route!r} is not in the contract"
        assert trigger["methods"] == [CONTRACT_ROUTES[route].lower()], (name, trigger["methods"])
        assert route not in routes, f"{name} and {routes.get(route)} share route {route!r}"
        routes[route] = name
        outputs = [b for b in doc["bindings"] if b["direction"] == "out"]
        assert [(b["type"], b["name"]) for b in outputs] == [("http", "$return")], (name, outputs)
    assert set(routes) >= CORE_ROUTES, CORE_ROUTES - set(routes)
    assert sum(1 for d in docs.values() for b in d["bindings"] if b["type"] == "timerTrigger") == 1
    assert sum(1 for d in docs.values() for b in d["bindings"] if b["type"] == "queueTrigger") == 1


def test_host_json_is_valid_against_the_functions_schema() -> None:
    host = json.loads((ROOT / "host.json").read_text())
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in Draft7Validator(schema("host.json")).iter_errors(host)]
    assert errors == []
    assert host["version"] == "2.0" and host["extensions"]["http"]["routePrefix"] == "api"


def test_the_schemas_would_catch_a_bad_binding() -> None:
    """The checks bite: a wrong auth level, method and direction are schema errors."""
    bad = function_json([{"direction": "IN", "type": "httpTrigger", "name": "req", "methods": ["FETCH"],
                          "authLevel": "everyone", "route": "clusters"}, {"direction": "sideways", "type": "http", "name": "$return"}],
                        "function_app.py")
    assert {e.absolute_path[1] for e in function_validator().iter_errors(bad)} == {0, 1}  # both bindings
    with pytest.raises(AssertionError, match=re.escape("route 'clusters/{cluster}/reboot' is not in the contract")):
        check_functions({"reboot": function_json([
            {"direction": "IN", "type": "httpTrigger", "name": "req", "methods": ["POST"], "authLevel": "FUNCTION",
             "route": "clusters/{cluster}/reboot"}, {"direction": "OUT", "type": "http", "name": "$return"}], "function_app.py")})


def test_bindings_built_by_azure_functions_here_match_the_schema_and_contract() -> None:
    check_functions({name: function_json(d["bindings"], d["scriptFile"]) for name, d in sdk_view().items()})


def test_the_workers_own_indexing_matches_the_schema_contract_and_this_view() -> None:
    view = worker_view()
    assert view["useDefaultMetadataIndexing"] is False  # the worker indexes (Python v2 model), not function.json files
    found = {f["name"]: f for f in view["functions"]}
    for name, f in found.items():
        assert (f["entryPoint"], f["language"], f["properties"].get("worker_indexed")) == (name, "python", "True")
        assert {b["name"]: (b["type"], b["direction"].lower()) for b in f["rawBindings"]} == {
            k: (v["type"], v["direction"]) for k, v in f["bindings"].items()}, name
    check_functions({name: function_json(f["rawBindings"], f["scriptFile"], f["entryPoint"]) for name, f in found.items()})
    here = sdk_view()
    assert set(found) == set(here)
    for name, f in found.items():
        assert f["rawBindings"] == here[name]["bindings"], name
