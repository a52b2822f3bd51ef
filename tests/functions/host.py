"""Plays the Functions host for the queue trigger: a pump that hands each message to the registered `execute` function."""

from __future__ import annotations

from collections.abc import Mapping

from azure.functions.queue import QueueMessage as DeliveredMessage
from azure.storage.queue import QueueMessage

from emulation.queuepump import QueuePump
from tests.functions.registered import functions


def run_queue_function(body: bytes, message: QueueMessage) -> None:
    """Call the registered queue function as the host does, with the azure.functions.QueueMessage its converter builds."""
    delivered = DeliveredMessage(id=message.id, body=body, pop_receipt=message.pop_receipt, dequeue_count=message.dequeue_count,
                                 insertion_time=message.inserted_on, expiration_time=message.expires_on,
                                 time_next_visible=message.next_visible_on)
    functions()["execute"].get_user_function()(delivered)


def pump(env: Mapping[str, str]) -> QueuePump:
    """A pump on the app's executor queue (AzureWebJobsStorage, NVA_HA_QUEUE), calling the registered function."""
    return QueuePump(env["AzureWebJobsStorage"], env["NVA_HA_QUEUE"], run_queue_function)
