"""The Azure Monitor workbook: deployed from main.bicep on Application Insights, and its KQL reads only events and fields the code emits."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from functools import cache
from typing import Any

from shared.events import CONTRACT_EVENTS
from tests.infra.bicep import INFRA, parsed, resource

ROOT = INFRA.parent
# Contract §5: each event's fields besides `cluster`. Events the code does not emit yet (added by other work) are held to these.
CONTRACT_FIELDS: dict[str, set[str]] = {
    "ProbeCycle": {"active", "healthy", "durationMs"},
    "NvaHealthChanged": {"nva", "healthy", "error"},
    "FailoverStarted": {"epoch", "from", "to", "trigger", "reason"},
    "FailoverCompleted": {"epoch", "from", "to", "trigger", "durationMs", "changes"},
    "FailoverFailed": {"epoch", "to", "step", "error"},
    "NoHealthyNva": {"active", "errors"},
    "DriftDetected": {"resource", "expected", "found"},
    "DriftCorrected": {"resource", "expected", "found"},
    "ClusterPaused": {"reason"},
    "ClusterResumed": {"reason"},
    "ConfigInvalid": {"error"},
    "ReadinessChanged": {"ready", "failing", "detail"},
    "FailoverBlocked": {"to", "trigger", "missing"},
    "SplitBrain": {"claims"},
    "FailoverAbandoned": {"epoch", "to", "reason"},
}
REQUIRED = {"FailoverCompleted", "NvaHealthChanged", "ReadinessChanged", "FailoverBlocked", "FailoverFailed", "ProbeCycle"}


def _names(node: ast.expr) -> list[str]:
    """The event name(s) of an emit(...) or Event(...) call: a literal, or `"A" if x else "B"`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _names(node.body) + _names(node.orelse)
    return []


@cache
def emitted() -> dict[str, set[str] | None]:
    """Event name -> the fields the code gives it (None: some are passed as a mapping the source does not spell out)."""
    out: dict[str, set[str] | None] = {}
    for path in sorted((ROOT / "shared").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            callee = node.func.id if isinstance(node.func, ast.Name) else node.func.attr if isinstance(node.func, ast.Attribute) else ""
            fields: set[str] = set()
            opaque = False
            if callee == "emit":
                for kw in node.keywords:
                    if kw.arg is not None:
                        fields.add(kw.arg)
                    elif isinstance(kw.value, ast.Dict) and all(isinstance(k, ast.Constant) for k in kw.value.keys):
                        fields |= {str(k.value) for k in kw.value.keys if isinstance(k, ast.Constant)}
                    else:
                        opaque = True
            elif callee == "Event" and len(node.args) >= 2 and isinstance(node.args[1], ast.Dict):
                fields = {str(k.value) for k in node.args[1].keys if isinstance(k, ast.Constant)}
            else:
                continue
            for name in _names(node.args[0]):
                known = out.get(name, set())
                out[name] = None if known is None or opaque else known | fields
    return out


def allowed_fields(event: str) -> set[str]:
    """What the code emits for the event; the contract's fields when the code does not emit it (yet) or not legibly."""
    code = emitted().get(event)
    return {"cluster", *(code if code is not None else CONTRACT_FIELDS.get(event, set()))}


def workbook() -> dict[str, Any]:
    return dict(json.loads((INFRA / "modules" / "workbook.json").read_text()))


def queries(node: Any) -> Iterator[tuple[dict[str, Any], str]]:
    """Every KQL query in the workbook (query items and parameter queries), with the object that holds it."""
    if isinstance(node, dict):
        if isinstance(node.get("query"), str):
            yield node, node["query"]
        for value in node.values():
            yield from queries(value)
    elif isinstance(node, list):
        for value in node:
            yield from queries(value)


def events_named(query: str) -> set[str]:
    named = set(re.findall(r'\bname\s*==\s*"(\w+)"', query))
    for group in re.findall(r"\bname\s+in\s*\(([^)]*)\)", query):
        named |= set(re.findall(r'"(\w+)"', group))
    return named


def problems(query: str) -> list[str]:
    """What in one query does not match the code: not customEvents, no event, an event or a field that is never emitted."""
    found = []
    if not query.lstrip().startswith("customEvents"):
        found.append("does not read customEvents")
    named = events_named(query)
    if not named:
        found.append("names no event")
    for event in sorted(named):
        if event not in emitted() and event not in CONTRACT_FIELDS:
            found.append(f"event {event} is neither emitted by the code nor listed in the contract")
    fields = {a or b for a, b in re.findall(r'customDimensions(?:\.(\w+)|\[\s*"(\w+)"\s*\])', query)}
    allowed = set().union(*(allowed_fields(e) for e in named)) if named else set()
    found += [f"customDimensions.{f} is not a field of {sorted(named)}" for f in sorted(fields - allowed)]
    return found


def test_the_contract_fields_cover_every_contract_event() -> None:
    assert set(CONTRACT_EVENTS) <= set(CONTRACT_FIELDS)
    for event, fields in emitted().items():
        if event in CONTRACT_FIELDS and fields is not None:
            assert CONTRACT_FIELDS[event] <= fields, f"{event}: the code no longer emits {CONTRACT_FIELDS[event] - fields}"


def test_every_query_reads_only_events_and_fields_the_code_emits() -> None:
    found = list(queries(workbook()))
    assert len(found) >= 8
    for holder, query in found:
        assert not problems(query), (holder.get("title") or holder.get("name"), problems(query))


def test_the_checker_catches_a_wrong_event_and_a_wrong_field() -> None:
    assert problems('customEvents | where name == "FailoverCompleted" | extend d = customDimensions.durationMs') == []
    assert problems('customEvents | where name == "FailoverCompleted" | extend d = customDimensions.duration') == [
        "customDimensions.duration is not a field of ['FailoverCompleted']"]
    assert problems('customEvents | where name in ("FailoverDone") | extend c = customDimensions.cluster') == [
        "event FailoverDone is neither emitted by the code nor listed in the contract"]
    assert problems("traces | take 1") == ["does not read customEvents", "names no event"]


def test_it_shows_what_operators_need_per_cluster_and_time_range() -> None:
    doc = workbook()
    assert doc["version"] == "Notebook/1.0"
    found = list(queries(doc))
    assert set().union(*(events_named(q) for _, q in found)) >= REQUIRED
    durations = [q for _, q in found if "FailoverCompleted" in events_named(q) and "customDimensions.durationMs" in q]
    assert durations, "failovers must show their durations"
    parameters = {p["name"]: p for item in doc["items"] if item["type"] == 9 for p in item["content"]["parameters"]}
    assert parameters["TimeRange"]["type"] == 4 and parameters["Cluster"]["multiSelect"] is True
    items = [item["content"] for item in doc["items"] if item["type"] == 3]
    assert len(items) >= 8
    for content in items:
        assert content["resourceType"] == "microsoft.insights/components" and content["queryType"] == 0
        assert content["timeContextFromParameter"] == "TimeRange"
        assert "'*' in ({Cluster}) or cluster in ({Cluster})" in content["query"], content["title"]
    assert {c["visualization"] for c in items} >= {"timechart", "barchart", "table"}


def test_it_is_deployed_with_the_rest_on_application_insights() -> None:
    module = parsed("main.bicep")["modules"]["workbook"]
    assert module["detail"]["path"] == "modules/workbook.bicep"
    assert module["config"]["params"]["insightsId"]["operator"]["operands"] == {"operand_1": "insights", "operand_2": "id"}
    book = parsed("modules/workbook.bicep")["resources"]["workbook"]
    assert (book["type"], book["api_version"]) == ("Microsoft.Insights/workbooks", "2023-06-01")
    config = book["config"]
    assert config["kind"] == "shared" and config["name"]["function"]["type"] == "guid"  # a workbook's name is a GUID
    props = config["properties"]
    assert props["sourceId"] == "insightsId" and props["category"] == "workbook"
    loaded = props["serializedData"]["function"]
    assert (loaded["type"], loaded["parameters"]["file_path"]) == ("load_text_content", "workbook.json")
    assert resource("insights")["kind"] == "web"

