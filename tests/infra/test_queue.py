"""The executor's queue is deployed with what its trigger and the timer need: the queue, keyless access, host settings."""

from __future__ import annotations

import json
import re

from shared.domain.messages import DEFAULT_QUEUE, valid_queue_name
from shared.edge.settings import read_settings
from tests.infra.bicep import INFRA, app_settings, parsed, resource

ROOT = INFRA.parent
QUEUE_CONTRIBUTOR = "974c5e8b-45b9-4653-ba55-5f855dd0fb88"  # send, peek, receive, delete; create the poison queue


def test_the_queue_the_trigger_listens_on_is_deployed_and_named_in_the_settings() -> None:
    name = parsed("main.bicep")["variables"]["changesQueueName"]["value"]
    assert name == DEFAULT_QUEUE and valid_queue_name(name)
    assert "changesQueueName" in json.dumps(resource("changesQueue")["name"])
    assert "changesQueueName" in json.dumps(app_settings()["NVA_HA_QUEUE"])
    assert int(app_settings()["NVA_HA_MANUAL_WAIT_SECONDS"]) < 230  # Azure ends an HTTP request at 230 s
    source = (ROOT / "function_app.py").read_text()
    assert re.search(r'queue_trigger\([^)]*queue_name="%NVA_HA_QUEUE%"[^)]*connection="AzureWebJobsStorage"', source)


def test_the_identity_may_use_the_queue_keyless_on_its_own_account_only() -> None:
    assignment = resource("queueContributor")
    assert assignment["scope"] == "storage"
    assert QUEUE_CONTRIBUTOR in json.dumps(parsed("main.bicep")["variables"]["roles"])
    assert "storageQueueDataContributor" in json.dumps(assignment["properties"]["roleDefinitionId"])
    assert resource("storage")["properties"]["allowSharedKeyAccess"] is False


def test_host_polls_the_queue_every_second_and_the_executor_is_always_ready() -> None:
    queues = json.loads((ROOT / "host.json").read_text())["extensions"]["queues"]
    assert queues["maxPollingInterval"] == "00:00:00.250"  # a queued change waits at most a quarter second for the executor
    assert queues["messageEncoding"] == "base64"  # what shared.adapters.dispatch sends
    assert queues["batchSize"] >= 2  # changes of several clusters run side by side
    ready = resource("app")["properties"]["functionAppConfig"]["scaleAndConcurrency"]["alwaysReady"]
    assert {"name": "function:execute", "instanceCount": 1} in ready


def test_local_settings_template_names_the_queue() -> None:
    values = json.loads((ROOT / "local.settings.json.template").read_text())["Values"]
    settings = read_settings({**values, "NVA_HA_CONFIG_FILE": "nva-ha.example.json"}, ROOT)
    assert settings.queue == DEFAULT_QUEUE and settings.manual_wait_seconds == 200
