"""A request to the emulated Resource Manager and its response, as plain values, and how their parts are read."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .errors import bad_request
from .operations import Operation


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    host: str


@dataclass
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without answering
    operation: Operation | None = None  # the long-running operation a write started


@dataclass
class LoggedRequest:
    at: float
    method: str
    path: str
    operation: str
    status: int
    principal: str
    outcome: str


def parse_target(target: str) -> tuple[str, dict[str, str]]:
    """Split a request target into a path and its query (last value wins)."""
    parts = urlsplit(target)
    query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    return parts.path, query


def json_body(req: Request) -> dict[str, Any]:
    try:
        body = json.loads(req.body or b"")
    except ValueError:
        raise bad_request("InvalidRequestContent", "The request content was invalid and could not be deserialized.") from None
    if not isinstance(body, dict):
        raise bad_request("InvalidRequestContent", "The request content must be a JSON object.")
    return body


def seconds(value: float) -> str:
    """A Retry-After value: whole seconds as an integer."""
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}"
