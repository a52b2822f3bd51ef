"""Plays the Functions host for the queue trigger: a pump that hands each message to the registered `execute` function."""

from __future__ import annotations

from collections.abc import Mapping

from emulation.queuepump import QueuePump, function_handler
from tests.functions.registered import functions


def pump(env: Mapping[str, str]) -> QueuePump:
    """A pump on the app's executor queue (AzureWebJobsStorage, NVA_HA_QUEUE), calling the registered function."""
    return QueuePump(env["AzureWebJobsStorage"], env["NVA_HA_QUEUE"], function_handler(functions()["execute"].get_user_function()))
