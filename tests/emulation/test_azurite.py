"""Azurite, the real Table Storage emulator, honours conditional updates: a stale ETag answers 412."""

from __future__ import annotations

import pytest
from azure.core import MatchConditions
from azure.core.exceptions import ResourceModifiedError
from azure.data.tables import TableServiceClient, UpdateMode

from emulation.harness import Azurite


def test_conditional_update_with_a_stale_etag_answers_412(azurite: Azurite, table_name: str) -> None:
    service = TableServiceClient.from_connection_string(azurite.connection_string)
    table = service.create_table(table_name)
    table.create_entity({"PartitionKey": "cluster", "RowKey": "hub-fw", "epoch": 1})
    first = table.get_entity("cluster", "hub-fw")
    second = table.get_entity("cluster", "hub-fw")
    table.update_entity({**first, "epoch": 2}, mode=UpdateMode.REPLACE, etag=first.metadata["etag"],
                        match_condition=MatchConditions.IfNotModified)
    with pytest.raises(ResourceModifiedError) as err:
        table.update_entity({**second, "epoch": 2}, mode=UpdateMode.REPLACE, etag=second.metadata["etag"],
                            match_condition=MatchConditions.IfNotModified)
    assert err.value.status_code == 412
    assert table.get_entity("cluster", "hub-fw")["epoch"] == 2
    service.delete_table(table_name)
