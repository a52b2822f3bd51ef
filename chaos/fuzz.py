"""Hostile input: hypothesis-driven fuzzing of the HTTP API (route values, bodies, headers) and of the configuration."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import azure.functions as func
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.domain.bounded_json import MAX_DEPTH, depth
from shared.domain.config import parse_config
from shared.errors import ConfigError

# A field path: a name, then .name, [index] or ["quoted key"] steps, maybe " (key)"; or (document) / a setting.
_KEY = r'\["(?:[^"\\]|\\.)*"\]'
PATH = re.compile(rf'^(\(document\)|settings|NVA_HA_[A-Z_]+|([A-Za-z_][\w-]*|{_KEY})(\.[A-Za-z_][\w-]*|\[\d+\]|{_KEY})*'
                  r'( \(key\))?): ')
ROUTES = {"list_clusters": ("GET", "clusters"), "get_cluster": ("GET", "clusters/{c}"),
          "failover": ("POST", "clusters/{c}/failover"), "pause": ("POST", "clusters/{c}/pause"),
          "resume": ("POST", "clusters/{c}/resume")}

json_scalars = st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False) | st.text(max_size=40)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                                                        max_size=4), max_leaves=12)
# Nesting deeper than any parser may recurse: 5 KB of "[" (a RecursionError once), and deep objects and arrays after a
# valid start, up to 60 000 levels.
deep_text = st.one_of(st.just("[" * 5120), st.builds(lambda start, opener, n: start + opener * n,
                                                       st.sampled_from(["", '{"reason": ', '{"clusters": ']),
                                                       st.sampled_from(["[", '{"a": ', '[{"target": ']),
                                                       st.integers(MAX_DEPTH + 1, 60_000)))
field_names = st.sampled_from(["target", "reason", "force", "dryRun", "dry_run", "Target", "", "colour"])
bodies = st.one_of(
    st.binary(max_size=200),
    deep_text.map(str.encode),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(field_names, json_values, max_size=4).map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({}, optional={"target": st.sampled_from(["fw-a", "fw-b", "fw-z", "", "FW-B"]) | st.text(max_size=8),
                                        "force": st.booleans() | json_scalars, "dryRun": st.just(True),
                                        "reason": st.text(max_size=600)}).map(lambda v: json.dumps(v).encode()),
)
cluster_names = st.sampled_from(["hub-fw", "nope", "", "HUB-FW", "hub-fw/../x"]) | st.text(max_size=80)
headers = st.dictionaries(st.sampled_from(["Content-Type", "X-Functions-Key", "Content-Length", "Accept"]),
                          st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30), max_size=3)


@dataclass
class HttpFigures:
    cases: int = 0
    answers: dict[int, int] = field(default_factory=dict)
    server_errors: list[str] = field(default_factory=list)
    rejected_but_changed: list[str] = field(default_factory=list)
    deeper_than_allowed: int = 0  # requests whose body nests deeper than the parsers allow


def fuzz_http(functions: dict[str, Any], snapshot: Callable[[], Any], examples: int, seed: int = 0) -> HttpFigures:
    """Call the registered HTTP functions with hostile requests; no answer may be a 500 and a rejection changes nothing.

    Valid manual failovers are forced to be dry runs, so the state only changes through pause and resume."""
    figures = HttpFigures()

    @settings(max_examples=examples, deadline=None, derandomize=seed == 0, database=None,
              suppress_health_check=list(HealthCheck))
    @given(name=st.sampled_from(sorted(ROUTES)), cluster=cluster_names, body=bodies, hdrs=headers)
    def case(name: str, cluster: str, body: bytes, hdrs: dict[str, str]) -> None:
        method, route = ROUTES[name]
        nested = depth(body.decode("utf-8", errors="replace"))
        figures.deeper_than_allowed += nested > MAX_DEPTH
        if name == "failover" and nested <= MAX_DEPTH:
            try:
                doc = json.loads(body)
                if isinstance(doc, dict):
                    doc["dryRun"] = True
                    body = json.dumps(doc).encode()
            except ValueError:
                pass
        before = snapshot()
        req = func.HttpRequest(method, f"https://fuzz.example/api/{route.format(c=cluster)}", headers=hdrs,
                               route_params={"cluster": cluster} if "{c}" in route else {}, body=body)
        resp = functions[name].get_user_function()(req)
        figures.cases += 1
        figures.answers[resp.status_code] = figures.answers.get(resp.status_code, 0) + 1
        answer = json.loads(resp.get_body())
        if resp.status_code >= 500 and answer.get("error", {}).get("code") not in {"StateUnavailable", "AzureUnavailable"}:
            figures.server_errors.append(f"{name} {cluster!r} {body[:80]!r}: {resp.status_code} {answer}")
        if 400 <= resp.status_code < 500 and snapshot() != before:
            figures.rejected_but_changed.append(f"{name} {cluster!r} {body[:80]!r}: {resp.status_code}")

    case()
    return figures


@dataclass
class ConfigFigures:
    cases: int = 0
    accepted: int = 0
    rejected: int = 0
    without_path: list[str] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)
    deeper_than_allowed: int = 0


def _mutations(doc: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Documents a few edits away from a valid one: keys dropped, values replaced by hostile ones, keys added."""
    def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        out = [prefix]
        if isinstance(value, dict):
            for k, v in value.items():
                out += paths(v, (*prefix, k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                out += paths(v, (*prefix, i))
        return out

    all_paths = paths(doc)[1:]

    def edit(data: Any, ops: list[tuple[int, str, Any]]) -> Any:
        result = copy.deepcopy(data)
        for index, kind, value in ops:
            path = all_paths[index % len(all_paths)]
            parent = result
            try:
                for key in path[:-1]:
                    parent = parent[key]
                if kind == "drop":
                    del parent[path[-1]]
                elif kind == "set":
                    parent[path[-1]] = value
                elif isinstance(parent, dict):
                    parent[f"extra{index}"] = value
            except (KeyError, IndexError, TypeError):
                continue
        return result

    op = st.tuples(st.integers(0, 10_000), st.sampled_from(["drop", "set", "add"]), json_values)
    return st.lists(op, min_size=1, max_size=4).map(lambda ops: edit(doc, ops))


def fuzz_config(valid: dict[str, Any], examples: int, seed: int = 0) -> ConfigFigures:
    """Every document is accepted, or rejected with every problem naming its field; nothing else escapes."""
    figures = ConfigFigures()

    @settings(max_examples=examples, deadline=None, derandomize=seed == 0, database=None,
              suppress_health_check=list(HealthCheck))
    @given(doc=st.one_of(_mutations(valid), json_values, st.text(max_size=60), deep_text))
    def case(doc: Any) -> None:
        figures.cases += 1
        figures.deeper_than_allowed += isinstance(doc, str) and depth(doc) > MAX_DEPTH
        try:
            parse_config(doc if isinstance(doc, str) else json.dumps(doc))
            figures.accepted += 1
        except ConfigError as err:
            figures.rejected += 1
            figures.without_path += [p for p in err.problems if not PATH.match(p)]
        except Exception as err:  # a crash is exactly what this experiment looks for
            figures.crashes.append(f"{type(err).__name__}: {err} for {str(doc)[:200]}")

    case()
    return figures
