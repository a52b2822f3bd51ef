"""The state store on Azure Table Storage (azure-data-tables): ETag-conditional writes, errors translated."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from azure.core import MatchConditions
from azure.core.credentials import TokenCredential
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.data.tables import TableClient, TableServiceClient, UpdateMode

from .connection import StateConnection
from .errors import ConfigError, StateConflict, StateUnavailable
from .state import ClusterState, FailoverRecord, from_entity, iso, record_json, to_entity

# A hung request to the state table must not stall a run for azure-core's default 300 s read timeout.
CLIENT_OPTIONS: dict[str, Any] = {"connection_timeout": 5, "read_timeout": 10, "retry_total": 3, "retry_backoff_factor": 0.5}


def table_client(connection: StateConnection, table: str,
                 credential_factory: Callable[[str | None], TokenCredential]) -> TableClient:
    """A TableClient for the resolved state connection: its connection string, or its endpoint with an identity."""
    if connection.connection_string is not None:
        try:
            service = TableServiceClient.from_connection_string(connection.connection_string, **CLIENT_OPTIONS)
        except ValueError as err:
            raise ConfigError([f"{connection.setting}: not a usable connection string: {err}"]) from None
        return service.get_table_client(table)
    assert connection.endpoint is not None
    return TableServiceClient(endpoint=connection.endpoint, credential=credential_factory(connection.client_id),
                              **CLIENT_OPTIONS).get_table_client(table)


class TableStateStore:
    """Cluster states in partition `cluster`, failover history in partition `history.<cluster>`."""

    def __init__(self, table: TableClient) -> None:
        self._table = table
        self._ready = False
        self._lock = threading.Lock()

    @contextmanager
    def _translated(self, what: str) -> Iterator[None]:
        try:
            yield
        except ResourceModifiedError as err:
            raise StateConflict(f"{what}: the state changed since it was read (412)") from err
        except ResourceExistsError as err:
            raise StateConflict(f"{what}: the state exists already (409)") from err
        except ClientAuthenticationError as err:
            raise StateUnavailable(f"{what}: not authorized on the state table: {err.message}") from err
        except HttpResponseError as err:
            raise StateUnavailable(f"{what}: state table answered {err.status_code}: {err.message}") from err
        except AzureError as err:
            raise StateUnavailable(f"{what}: state table unreachable: {err}") from err

    def _ensure_table(self) -> None:
        if self._ready:
            return
        with self._lock, self._translated("create table"):
            try:
                self._table.create_table()
            except ResourceExistsError:
                pass
            self._ready = True

    def load(self, cluster: str) -> ClusterState | None:
        self._ensure_table()
        with self._translated(f"load {cluster}"):
            try:
                entity = self._table.get_entity("cluster", cluster)
            except ResourceNotFoundError:
                return None
        return from_entity(entity, entity.metadata["etag"])

    def create(self, state: ClusterState) -> ClusterState:
        self._ensure_table()
        with self._translated(f"create {state.name}"):
            meta = self._table.create_entity(to_entity(state))
        return _with_etag(state, meta)

    def save(self, state: ClusterState) -> ClusterState:
        if state.etag is None:
            return self.create(state)
        self._ensure_table()
        with self._translated(f"save {state.name}"):
            meta = self._table.update_entity(to_entity(state), mode=UpdateMode.REPLACE, etag=state.etag,
                                             match_condition=MatchConditions.IfNotModified)
        return _with_etag(state, meta)

    def append_history(self, cluster: str, record: FailoverRecord, changes: list[dict[str, Any]]) -> None:
        self._ensure_table()
        entity = {
            "PartitionKey": f"history.{cluster}",
            "RowKey": f"{record.epoch:012d}",
            "record": json.dumps(record_json(record)),
            "changes": json.dumps(changes)[:30000],
            "completedAt": iso(record.completed_at),
        }
        with self._translated(f"history {cluster}"):
            try:
                self._table.create_entity(entity)
            except ResourceExistsError:
                pass  # recorded already, by this failover's earlier attempt

    def history(self, cluster: str, limit: int = 20) -> list[dict[str, Any]]:
        self._ensure_table()
        with self._translated(f"history {cluster}"):
            rows = list(self._table.query_entities("PartitionKey eq @p", parameters={"p": f"history.{cluster}"}))
        rows.sort(key=lambda r: r["RowKey"], reverse=True)
        return [{**json.loads(r["record"]), "changes": json.loads(r["changes"])} for r in rows[:limit]]


def _with_etag(state: ClusterState, meta: Mapping[str, Any]) -> ClusterState:
    return replace(state, etag=str(meta["etag"]))
