"""The executor's settings and messages: bad values are refused naming the problem; a message reads back as it was sent."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from shared.adapters.dispatch import BREAK_SECONDS, CLIENT_OPTIONS, QueueDispatcher, queue_client_from_settings
from shared.domain.messages import Dispatch, valid_queue_name
from shared.edge.settings import read_settings
from shared.errors import ConfigError, TransientError

ROOT = Path(__file__).resolve().parents[2]
BASE = {"NVA_HA_CONFIG_FILE": "nva-ha.example.json"}


@pytest.mark.parametrize(("env", "fragment"), [
    ({"NVA_HA_QUEUE": "Changes"}, "NVA_HA_QUEUE: 'Changes' is not a queue name"),
    ({"NVA_HA_QUEUE": "a--b"}, "NVA_HA_QUEUE"),
    ({"NVA_HA_QUEUE": "ab"}, "NVA_HA_QUEUE"),
    ({"NVA_HA_MANUAL_WAIT_SECONDS": "230"}, "NVA_HA_MANUAL_WAIT_SECONDS: 230 is above 220"),
    ({"NVA_HA_MANUAL_WAIT_SECONDS": "0"}, "NVA_HA_MANUAL_WAIT_SECONDS: must be greater than 0"),
    ({"NVA_HA_MANUAL_WAIT_SECONDS": "soon"}, "NVA_HA_MANUAL_WAIT_SECONDS: 'soon' is not a number"),
])
def test_bad_executor_settings_are_refused_by_name(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(ConfigError) as err:
        read_settings({**BASE, **env}, ROOT)
    assert fragment in str(err.value)


def test_executor_settings_defaults_and_values() -> None:
    assert (read_settings(BASE, ROOT).queue, read_settings(BASE, ROOT).manual_wait_seconds) == ("nva-ha-changes", 200)
    custom = read_settings({**BASE, "NVA_HA_QUEUE": "fw-changes-2", "NVA_HA_MANUAL_WAIT_SECONDS": "30"}, ROOT)
    assert (custom.queue, custom.manual_wait_seconds) == ("fw-changes-2", 30)


def test_queue_names_follow_azure() -> None:
    assert [valid_queue_name(n) for n in ("nva-ha-changes", "abc", "a" * 63, "a" * 64, "-abc", "abc-", "ab_c", "äbc")] == [
        True, True, True, False, False, False, False, False]


def test_a_message_reads_back_and_a_bad_one_is_named() -> None:
    sent = Dispatch("hub-fw", "failover", 3, "queued:abc", resumed=True)
    assert Dispatch.parse(sent.to_json()) == sent
    assert Dispatch.parse(sent.to_json().encode()) == sent
    for raw, fragment in ((b"{", "not JSON"), (b"[]", "not a JSON object"), (b'{"cluster": "x"}', "kind: missing"),
                          (b'{"cluster": "x", "kind": "failover", "epoch": "1", "token": ""}', "epoch: must be an integer"),
                          (b'{"cluster": "x", "kind": "drop", "epoch": 1, "token": ""}', "kind: 'drop'"),
                          (b'{"cluster": "x", "kind": "failover", "epoch": 1, "token": "", "x": 1}', "unknown fields: x")):
        with pytest.raises(ValueError, match=fragment):
            Dispatch.parse(raw)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Refusing:
    """A queue endpoint that takes each connection and drops it at once, counting them (a real socket on loopback)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()


def test_a_failing_queue_is_tried_once_then_rests_and_is_tried_again() -> None:
    """Contract §6 "Never stuck": a queue that fails never slows the probe cycle: one try, no retries, then a rest."""
    endpoint = Refusing()
    account = "devstoreaccount1"
    key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
    conn = (f"DefaultEndpointsProtocol=http;AccountName={account};AccountKey={key};"
            f"QueueEndpoint=http://127.0.0.1:{endpoint.port}/{account};")
    clock = Clock()
    client = queue_client_from_settings({"AzureWebJobsStorage": conn}, "changes", lambda _: None)  # type: ignore[arg-type,return-value]
    dispatcher = QueueDispatcher(client, monotonic=clock)
    message = Dispatch("hub-fw", "failover", 1, "queued:x")
    with pytest.raises(TransientError):
        dispatcher.dispatch(message)
    assert endpoint.connections == 1, "one try, no retry"
    with pytest.raises(TransientError) as rested:
        dispatcher.dispatch(message)  # the breaker: not tried
    assert endpoint.connections == 1 and "not tried for 30 s" in str(rested.value)
    clock.now += BREAK_SECONDS
    with pytest.raises(TransientError) as again:
        dispatcher.dispatch(message)  # tried again after the rest
    assert endpoint.connections == 2 and "not tried" not in str(again.value)
    endpoint.sock.close()
    assert CLIENT_OPTIONS["connection_timeout"] <= 0.5 and CLIENT_OPTIONS["retry_total"] == 0
