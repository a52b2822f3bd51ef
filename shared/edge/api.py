"""The HTTP API of contract §4 without Azure Functions types: parse a request, call the engine, shape the answer."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.control.history import history_json, parse_limit
from shared.domain import bounded_json
from shared.domain.config import NAME
from shared.domain.policy import ManualRequest
from shared.edge.engine import Engine
from shared.errors import ConfigError, EngineError, RequestError, StateUnavailable
from shared.events import emit

_log = logging.getLogger("nva_failover.api")
Operation = Literal["list", "get", "failover", "pause", "resume", "history", "check"]
Answer = tuple[int, dict[str, Any]]
MAX_BODY = 64 * 1024


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class FailoverBody(_Body):
    target: str | None = Field(default=None, pattern=NAME)
    reason: str | None = Field(default=None, max_length=500)
    force: bool = False
    dry_run: bool = Field(default=False, alias="dryRun")


class PauseBody(_Body):
    reason: str | None = Field(default=None, max_length=500)


class EmptyBody(_Body):
    pass


# What each operation can answer; the OpenAPI document must say the same (a test holds them together).
STATUS_CODES: dict[str, set[int]] = {
    "list": {200, 500, 503},
    "get": {200, 404, 500, 503},
    "failover": {200, 202, 400, 404, 409, 500, 503},
    "pause": {200, 400, 404, 409, 500, 503},
    "resume": {200, 400, 404, 409, 500, 503},
    "check": {200, 404, 500, 503},
    "history": {200, 400, 404, 500, 503},
    "console": {200, 500},
}
BODIES: dict[str, type[_Body]] = {"failover": FailoverBody, "pause": PauseBody, "resume": EmptyBody}


def error(status: int, code: str, message: str) -> Answer:
    return status, {"error": {"code": code, "message": message}}


def parse_body(operation: str, raw: bytes) -> _Body | None:
    """The validated body of a POST; RequestError(400 InvalidRequest) naming what is wrong."""
    model = BODIES.get(operation)
    if model is None:
        return None
    if len(raw) > MAX_BODY:
        raise RequestError(400, "InvalidRequest", f"the body is larger than {MAX_BODY} bytes")
    text = raw.decode("utf-8", errors="strict") if raw else ""
    if not text.strip():
        text = "{}"
    try:
        data = bounded_json.loads(text, max_bytes=MAX_BODY)
    except ValueError as err:
        raise RequestError(400, "InvalidRequest", f"the body is not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise RequestError(400, "InvalidRequest", "the body must be a JSON object")
    try:
        return model.model_validate_json(json.dumps(data))
    except ValidationError as err:
        problems = []
        for e in err.errors(include_url=False):
            where = ".".join(str(p) for p in e["loc"]) or "(body)"
            problems.append(f"{where}: unknown field" if e["type"] == "extra_forbidden" else f"{where}: {e['msg']}")
        raise RequestError(400, "InvalidRequest", "; ".join(problems)) from None


def handle(engine: Callable[[], Engine], operation: Operation, cluster: str | None, raw: bytes,
           params: Mapping[str, str] | None = None) -> Answer:
    """One HTTP request. Never raises; client input never yields a 500."""
    try:
        body = parse_body(operation, raw)
        limit = parse_limit(params or {}) if operation == "history" else 0
        if cluster is not None and not _valid_name(cluster):
            raise RequestError(404, "ClusterNotFound", f"no cluster named {cluster[:80]!r}")
        e = engine()
        if operation == "list":
            return 200, {"clusters": e.statuses()}
        assert cluster is not None
        if operation == "get":
            return 200, e.status(cluster)
        if operation == "check":
            return 200, e.check(cluster)
        if operation == "history":
            return 200, history_json(e.cluster(cluster).name, e.store, limit)
        if operation == "failover":
            assert isinstance(body, FailoverBody)
            request = ManualRequest(target=body.target, reason=body.reason, force=body.force, dry_run=body.dry_run)
            result = e.failover(cluster, request)
            return (202 if result.get("status") == "running" else 200), result  # 202: queued, still running at the limit
        if operation == "pause":
            assert isinstance(body, PauseBody)
            return 200, e.set_paused(cluster, True, body.reason)
        return 200, e.set_paused(cluster, False, None)
    except UnicodeDecodeError:
        return error(400, "InvalidRequest", "the body is not UTF-8")
    except RequestError as err:
        return error(err.status, err.code, err.message)
    except ConfigError as err:
        emit("ConfigInvalid", "*", error=str(err))
        return error(503, "ConfigInvalid", f"the configuration was rejected: {err}")
    except StateUnavailable as err:
        return error(503, "StateUnavailable", str(err))
    except EngineError as err:
        return error(503, "AzureUnavailable", str(err))
    except Exception:
        _log.exception("unexpected failure answering %s %s", operation, cluster)
        return error(500, "InternalError", "an unexpected error; see the function's logs")


def _valid_name(name: str) -> bool:
    return re.fullmatch(NAME, name) is not None
