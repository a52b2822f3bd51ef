"""Deep and large JSON from outside: HTTP bodies answer 400, queue messages are dropped with an event, configurations are
refused naming the document; never a RecursionError."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from shared.domain.bounded_json import MAX_DEPTH, depth, loads
from shared.domain.config import parse_config
from shared.domain.messages import Dispatch
from shared.edge.api import handle
from shared.edge.runtime import Runtime
from shared.errors import ConfigError

DEEP = [b"[" * 5120, b'{"reason": ' + b"[" * 5000, b'{"a": ' * 3000, b"[" * 5000 + b"]" * 5000]


def test_depth_counts_nesting_outside_strings() -> None:
    assert [depth(t) for t in ("3", "{}", '[1, {"a": [2]}]', '["[[[[", "{{"]', '"\\"[["')] == [0, 1, 3, 1, 0]
    assert depth("[" * 60_000) == 60_000  # counted without recursing


def test_loads_keeps_what_fits_and_refuses_the_rest_with_value_error() -> None:
    assert loads('{"a": [[1]]}', max_bytes=100) == {"a": [[1]]}
    assert loads("[" * MAX_DEPTH + "]" * MAX_DEPTH, max_bytes=1000) is not None
    with pytest.raises(ValueError, match="nested 5120 levels deep, more than the 32 allowed"):
        loads("[" * 5120, max_bytes=10_000)
    with pytest.raises(ValueError, match="101 bytes is more than the 100 allowed"):
        loads(b" " * 101, max_bytes=100)


@pytest.mark.parametrize("operation", ["failover", "pause", "resume"])
@pytest.mark.parametrize("body", DEEP)
def test_a_deep_body_answers_400_invalid_request(operation: str, body: bytes) -> None:
    def no_engine() -> None:
        raise AssertionError("a rejected body reaches no engine")

    status, answer = handle(no_engine, operation, "hub-fw", body)  # type: ignore[arg-type]
    assert status == 400 and answer["error"]["code"] == "InvalidRequest", answer
    assert "nested" in answer["error"]["message"]


@pytest.mark.parametrize("body", DEEP)
def test_a_deep_queue_message_is_dropped_with_an_event(body: bytes, caplog: pytest.LogCaptureFixture,
                                                       tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="nested"):
        Dispatch.parse(body)
    with caplog.at_level(logging.INFO, logger="nva_failover.events"):
        outcome = Runtime(tmp_path).execute(body)  # dropped before any setting is read
    assert outcome.startswith("dropped: not JSON: nested")
    dropped = [r for r in caplog.records if getattr(r, "microsoft.custom_event.name", None) == "RunFailed"]
    assert [getattr(r, "kind", None) for r in dropped] == ["InvalidMessage"]


@pytest.mark.parametrize("document", [b.decode() for b in DEEP] + ['{"clusters": ' + "[" * 20_000])
def test_a_deep_configuration_is_refused_naming_the_document(document: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(document)
    assert err.value.problems[0].startswith("(document): not valid JSON: nested")


def test_a_deep_mapping_is_refused_too() -> None:
    doc: dict[str, object] = {}
    inner = doc
    for _ in range(5000):
        inner["a"] = {}
        inner = inner["a"]  # type: ignore[assignment]
    with pytest.raises(ConfigError, match=r"\(document\): not a JSON document: RecursionError"):
        parse_config(doc)
