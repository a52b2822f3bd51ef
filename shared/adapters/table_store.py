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

from shared.adapters.connection import StateConnection
from shared.adapters.entities import from_entity, to_entity
from shared.domain.state import ClusterState, FailoverRecord, Timeline, iso, record_json, timeline_json
from shared.errors import ConfigError, StateConflict, StateUnavailable

# A hung request to the state table must not stall a run for azure-core's default 300 s read timeout.
CLIENT_OPTIONS: dict[str, Any] = {"connection_timeout": 5, "read_timeout": 10, "retry_total": 3, "retry_backoff_factor": 0.5}


def bounded_options(seconds: float) -> dict[str, Any]:
    """Per-call options of a lease-path call: connect and answer each within `seconds`, the whole call too, no retry (a
    lease is renewed again a moment later; a retry would outlive it, and a retried conditional write that had landed
    would come back 412)."""
    return {"connection_timeout": seconds, "read_timeout": seconds, "timeout": seconds, "retry_total": 0}


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

    def __init__(self, table: TableClient, call_options: Mapping[str, Any] | None = None) -> None:
        self._table = table
        self._call = dict(call_options or {})  # passed to every call (azure-core per-call options)
        self._ready = False
        self._lock = threading.Lock()

    def bounded(self, seconds: float) -> TableStateStore:
        view = TableStateStore(self._table, bounded_options(seconds))
        view._ready = self._ready
        return view

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
            if self._ready:  # another thread of this cycle created it while this one waited
                return
            try:
                self._table.create_table(**self._call)
            except ResourceExistsError:
                pass
            self._ready = True

    def load(self, cluster: str) -> ClusterState | None:
        self._ensure_table()
        with self._translated(f"load {cluster}"):
            try:
                entity = self._table.get_entity("cluster", cluster, **self._call)
            except ResourceNotFoundError:
                return None
        return from_entity(entity, entity.metadata["etag"])

    def load_all(self) -> dict[str, ClusterState]:
        """Every cluster state in the table, by name: one partition query (a transaction per 1,000 rows, Table
        Storage's page), where loading each cluster is a transaction per cluster."""
        self._ensure_table()
        with self._translated("load every cluster"):
            rows = list(self._table.query_entities("PartitionKey eq @p", parameters={"p": "cluster"}, **self._call))
        return {str(row["RowKey"]): from_entity(row, row.metadata["etag"]) for row in rows}

    def create(self, state: ClusterState) -> ClusterState:
        self._ensure_table()
        with self._translated(f"create {state.name}"):
            meta = self._table.create_entity(to_entity(state), **self._call)
        return _with_etag(state, meta)

    def save(self, state: ClusterState) -> ClusterState:
        if state.etag is None:
            return self.create(state)
        self._ensure_table()
        entity = to_entity(state)
        try:
            with self._translated(f"save {state.name}"):
                meta = self._table.update_entity(entity, mode=UpdateMode.REPLACE, etag=state.etag,
                                                 match_condition=MatchConditions.IfNotModified, **self._call)
        except (StateConflict, StateUnavailable):
            # A 412 on the SDK's retry of our own landed PUT, or an answer lost on the way back (the lease path's calls
            # are not retried): the write is ours when the stored state is exactly what it wrote.
            landed = self._landed(entity)
            if landed is None:
                raise
            return replace(state, etag=landed)
        return _with_etag(state, meta)

    def _landed(self, entity: Mapping[str, Any]) -> str | None:
        """After a 412 or a lost answer: the stored state's etag when it is exactly what this write wrote. The SDK retries a
        PUT whose answer was lost; when the first attempt had landed, the retry's If-Match fails on our own write."""
        try:
            with self._translated("re-read after a conflict"):
                stored = self._get(str(entity["PartitionKey"]), str(entity["RowKey"]))
        except StateUnavailable:
            return None
        if stored is None or any(stored.get(k) != v for k, v in entity.items()):
            return None
        return str(stored.metadata["etag"])

    def append_history(self, cluster: str, record: FailoverRecord, changes: list[dict[str, Any]],
                       timeline: Timeline | None = None) -> None:
        self._ensure_table()
        entity = _history_entity(f"history.{cluster}", record, changes, timeline)
        with self._translated(f"history {cluster}"):
            try:
                self._table.create_entity(entity)
            except ResourceExistsError:
                pass  # recorded already, by this failover's earlier attempt

    def stage_history(self, cluster: str, record: FailoverRecord, changes: list[dict[str, Any]],
                      timeline: Timeline | None = None) -> None:
        self._ensure_table()
        with self._translated(f"stage history {cluster}"):
            self._table.upsert_entity(_history_entity(f"staged.{cluster}", record, changes, timeline), mode=UpdateMode.REPLACE)

    def record_history(self, cluster: str, epoch: int) -> dict[str, Any] | None:
        self._ensure_table()
        key = f"{epoch:012d}"
        with self._translated(f"history {cluster}"):
            staged = self._get(f"staged.{cluster}", key)
            if staged is not None:
                try:
                    self._table.create_entity({**_plain(staged), "PartitionKey": f"history.{cluster}"})
                except ResourceExistsError:
                    pass  # recorded already: by an earlier attempt whose answer was lost, or by another run
            row = self._get(f"history.{cluster}", key)
            if staged is not None and row is not None:
                self._table.delete_entity(f"staged.{cluster}", key)
        return None if row is None else _history_row(row)

    def _get(self, partition: str, row: str) -> Any:
        try:
            return self._table.get_entity(partition, row)
        except ResourceNotFoundError:
            return None

    def history(self, cluster: str, limit: int = 20) -> list[dict[str, Any]]:
        self._ensure_table()
        with self._translated(f"history {cluster}"):
            rows = list(self._table.query_entities("PartitionKey eq @p", parameters={"p": f"history.{cluster}"}))
        rows.sort(key=lambda r: r["RowKey"], reverse=True)
        return [_history_row(r) for r in rows[:limit]]


def _plain(entity: Mapping[str, Any]) -> dict[str, Any]:
    """An entity as read, as a dict to write again (its metadata left behind)."""
    return dict(entity.items())


def _history_entity(partition: str, record: FailoverRecord, changes: list[dict[str, Any]],
                    timeline: Timeline | None) -> dict[str, Any]:
    """A failover's history row: the record, and its changes, skipped writes and timeline spilled over properties."""
    timed = timeline_json(timeline or Timeline())
    stored_changes, omitted = _fitting(changes, CHANGES_CHUNKS)
    stored_writes, omitted_writes = _fitting(timed["writes"], WRITES_CHUNKS)
    return {
        "PartitionKey": partition,
        "RowKey": f"{record.epoch:012d}",
        "record": json.dumps({**record_json(record), "detectedAt": timed["detectedAt"]}),
        "completedAt": iso(record.completed_at),
        **_spilled("skipped", _fitting([dict(s) for s in record.skipped], SKIPPED_CHUNKS)[0]),
        **_spilled("changes", stored_changes),
        **_spilled("writes", stored_writes),
        **({"omitted": json.dumps({"changes": omitted, "writes": omitted_writes})} if omitted or omitted_writes else {}),
    }


# A string property holds at most 64 KiB (32 K UTF-16 characters) and an entity 1 MiB: long lists are spilled over
# numbered properties (changes, changes1, …), and what still does not fit is left out and counted under `omitted`.
CHUNK = 30000
CHANGES_CHUNKS, WRITES_CHUNKS, SKIPPED_CHUNKS = 9, 6, 2


def _fitting(items: list[dict[str, Any]], chunks: int) -> tuple[str, int]:
    """The JSON text of `items` within `chunks` properties: whole, else without before/after, else cut short."""
    text = json.dumps(items)
    if len(text) <= CHUNK * chunks:
        return text, 0
    slim = [{k: v for k, v in item.items() if k not in {"before", "after"}} for item in items]
    kept = len(slim)
    while kept and len(text := json.dumps(slim[:kept])) > CHUNK * chunks:
        kept = kept * 3 // 4
    return (text if kept else "[]"), len(items) - kept


def _spilled(name: str, text: str) -> dict[str, str]:
    parts = [text[i:i + CHUNK] for i in range(0, len(text), CHUNK)] or ["[]"]
    return {(name if i == 0 else f"{name}{i}"): part for i, part in enumerate(parts)}


def _gathered(row: Mapping[str, Any], name: str) -> list[Any]:
    if not row.get(name):
        return []
    text, i = str(row[name]), 1
    while row.get(f"{name}{i}"):
        text, i = text + str(row[f"{name}{i}"]), i + 1
    try:
        return list(json.loads(text))
    except ValueError:
        return []  # a row written before lists were spilled, cut short at 30000 characters


def _history_row(row: Mapping[str, Any]) -> dict[str, Any]:
    record = json.loads(row["record"])
    out = {**record, "detectedAt": record.get("detectedAt"), "changes": _gathered(row, "changes"),
           "skipped": _gathered(row, "skipped"), "writes": _gathered(row, "writes")}
    if row.get("omitted"):
        out["omitted"] = json.loads(row["omitted"])
    return out


def _with_etag(state: ClusterState, meta: Mapping[str, Any]) -> ClusterState:
    return replace(state, etag=str(meta["etag"]))
