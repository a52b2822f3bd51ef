"""A failover's log records carry every contract event with its fields, and become Application Insights customEvents."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from azure.functions.timer import TimerRequest
from azure.monitor.opentelemetry.exporter.export.logs._exporter import _convert_log_to_envelope
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor

from shared.events import EVENT_ATTRIBUTE, EVENT_LOGGER
from tests.functions.host import pump
from tests.functions.registered import functions
from tests.integration.rig import EventLog, Rig

REQUIRED = {
    "ProbeCycle": {"cluster", "active", "healthy", "durationMs"},
    "NvaHealthChanged": {"cluster", "nva", "healthy", "error"},
    "FailoverStarted": {"cluster", "epoch", "from", "to", "trigger", "reason"},
    "FailoverCompleted": {"cluster", "epoch", "from", "to", "trigger", "durationMs", "changes"},
}


def test_failover_emits_each_contract_event_with_its_fields_as_custom_events(world: Rig, events: EventLog,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in world.env().items():
        monkeypatch.setenv(name, value)
    exported = InMemoryLogRecordExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(exported))
    otel = LoggingHandler(logger_provider=provider)
    logging.getLogger(EVENT_LOGGER).addHandler(otel)
    try:
        timer = functions()["probe"].get_user_function()
        with pump(world.env()) as host:  # the host's queue listener: the executor carries out what the timer queues
            for _ in range(2):
                timer(TimerRequest())
                host.drain()
            world.nvas["fw-a"].set_mode("down")
            for _ in range(2):
                timer(TimerRequest())
                host.drain()
    finally:
        logging.getLogger(EVENT_LOGGER).removeHandler(otel)

    for name, fields in REQUIRED.items():
        found = events.named(name)
        assert found, f"no {name}"
        for record in found:
            missing = fields - set(record)
            assert not missing, f"{name} lacks {missing}"
    completed = events.named("FailoverCompleted")[0]
    assert (completed["from"], completed["to"], completed["trigger"], completed["epoch"]) == ("fw-a", "fw-b", "auto", 1)
    assert len(json.loads(completed["changes"])) == 5
    beats = [r for r in events.named("ProbeCycle") if r["cluster"] == "*"]  # the heartbeat: one per run
    assert len(beats) == 4 and all(r["clusters"] == 1 for r in beats)
    assert {r["cluster"] for r in events.named("ProbeCycle")} == {"*", "hub-fw"}  # and the cluster's own, on change

    envelopes: list[Any] = [_convert_log_to_envelope(r) for r in exported.get_finished_logs()]
    custom = {e.data.base_data.name: e for e in envelopes if e.name == "Microsoft.ApplicationInsights.Event"}
    assert set(REQUIRED) <= set(custom)
    started = custom["FailoverStarted"].data.base_data.properties
    assert (started["from"], started["to"], started["cluster"], started["epoch"]) == ("fw-a", "fw-b", "hub-fw", "1")
    assert EVENT_ATTRIBUTE not in started
    assert len(envelopes) == len(events.records)  # every event record is exported: nothing sampled away
