"""The network adapter's reads: every resource and listing on its own, what cannot be read named with its reason."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from azure.core.exceptions import HttpResponseError

from shared.adapters import network_moves
from shared.adapters.arm_client import ArmClient, _parts
from shared.adapters.write_order import reason as _reason
from shared.domain.config import Cluster
from shared.domain.desired import NOT_FOUND, AzureView, addresses_unread, desired, holder_nic_ids
from shared.errors import PermanentError


class ArmReads(ArmClient):
    """What a run reads of Azure: the cluster's NICs, public IPs and managed route tables."""

    def _get(self, resource_id: str, deadline: float) -> dict[str, Any] | None:
        sub, group, name = _parts(resource_id)
        kind = resource_id.split("/")[7].lower()
        ops = self.client(sub)

        def call() -> Any:
            try:
                if kind == "networkinterfaces":
                    return ops.network_interfaces.get(group, name)
                if kind == "publicipaddresses":
                    return ops.public_ip_addresses.get(group, name)
                return ops.route_tables.get(group, name)
            except HttpResponseError as err:
                if err.status_code == 404:
                    return None
                raise

        model = self._retrying(f"read {resource_id}", call, deadline)
        return None if model is None else dict(model.as_dict())

    def _get_each(self, ids: Iterable[str], deadline: float) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
        """Each resource read on its own: the bodies found, and why each other one could not be read (not found,
        refused, failing). One refusal never fails the rest (contract §6 "Partial beats none")."""
        unique = sorted({i.lower(): i for i in ids}.items())
        futures = {key: (rid, self._pool.submit(self._get, rid, deadline)) for key, rid in unique}
        out: dict[str, dict[str, Any]] = {}
        unread: dict[str, str] = {}
        for key, (rid, future) in futures.items():
            try:
                body = future.result()
            except Exception as err:  # the boundary of one read: whatever it raised is its reason
                unread[rid] = f"could not be read: {_reason(err)}"
                continue
            if body is None:
                unread[rid] = NOT_FOUND
            else:
                out[key] = body
        return out, unread

    def _discover(self, subscription: str, deadline: float) -> list[dict[str, Any]]:
        def call() -> list[dict[str, Any]]:
            return [dict(t.as_dict()) for t in self.client(subscription).route_tables.list_all()]

        return self._retrying(f"list route tables of {subscription}", call, deadline)

    def _list_group(self, subscription: str, group: str, deadline: float) -> list[dict[str, Any]]:
        def call() -> list[dict[str, Any]]:
            return [dict(t.as_dict()) for t in self.client(subscription).route_tables.list(group)]

        return self._retrying(f"list route tables of {subscription}/{group}", call, deadline)

    def read(self, cluster: Cluster) -> AzureView:
        """Raises when a NIC or public IP of the cluster cannot be read (no address move can be planned without them);
        route tables and listings that cannot be read are named in the view's `unread` instead."""
        view, _ = self.survey(cluster)
        if blocking := addresses_unread(view):
            raise PermanentError("; ".join(f"{r}: {why}" for r, why in blocking.items()))
        return view

    def survey(self, cluster: Cluster) -> tuple[AzureView, list[str]]:
        """What read() reads, and the configured NICs, public IPs and route tables that Azure does not have. Every
        listing and read stands alone: what cannot be read is in the view's `unread`, with its reason."""
        deadline = time.monotonic() + self.tuning.read_deadline
        discovered = cluster.discover_route_tables.subscriptions if cluster.discover_route_tables else ()
        discovering = {s.lower() for s in discovered}
        listings = {s: self._list_pool.submit(self._discover, s, deadline) for s in discovered}

        def groups_of(subs: set[str]) -> dict[tuple[str, str], Any]:
            wanted = sorted({(t.split("/")[2], t.split("/")[4]) for t in cluster.route_tables if t.split("/")[2].lower() in subs})
            return {g: self._list_pool.submit(self._list_group, g[0], g[1], deadline) for g in wanted}

        # Listed tables: one paged list per resource group (a subscription being discovered is listed whole already).
        group_listings = groups_of({t.split("/")[2].lower() for t in cluster.route_tables} - discovering)
        nic_ids = [nva.nic_id(leg) for nva in cluster.nvas for leg in nva.interfaces]
        pip_ids = [p.id for p in cluster.public_ips] + [f.public_ip for f in cluster.floating_ips if f.public_ip]
        bodies, unread = self._get_each([*nic_ids, *pip_ids], deadline)
        nics = {k: v for k, v in bodies.items() if "/networkinterfaces/" in k}
        pips = {k: v for k, v in bodies.items() if "/publicipaddresses/" in k}
        outside = holder_nic_ids(AzureView(nics, pips, {})) - set(nics)
        if outside:
            nics = {**nics, **self._get_each(outside, deadline)[0]}  # holders outside the cluster: only to be seen
        found: dict[str, dict[str, Any]] = {}
        unlisted_subs = set()
        for sub, future in listings.items():
            try:
                found.update({str(t["id"]).lower(): t for t in future.result()})
            except Exception as err:  # the boundary of one listing
                unlisted_subs.add(sub.lower())
                unread[f"/subscriptions/{sub}"] = (f"route tables could not be listed ({_reason(err)}): beyond the resource "
                                                   "groups of configured tables, none there is managed until it can be")
        group_listings.update(groups_of(unlisted_subs))  # its configured tables are listed by resource group instead
        one_by_one = []
        for (sub, group), future in group_listings.items():
            try:
                found.update({str(t["id"]).lower(): t for t in future.result()})
            except Exception:  # the boundary of one listing: its configured tables are read one by one
                one_by_one += [t for t in cluster.route_tables if (t.split("/")[2].lower(), t.split("/")[4].lower())
                               == (sub.lower(), group.lower())]
        more, refused = self._get_each(one_by_one, deadline)
        found.update(more)
        unread.update(refused)
        listed = {t.lower() for t in cluster.route_tables}
        unread.update({t: NOT_FOUND for t in cluster.route_tables if t.lower() not in found and t not in unread})
        missing = [r for r in [*pip_ids, *cluster.route_tables, *dict.fromkeys(nic_ids)] if unread.get(r) == NOT_FOUND]
        tables = {k: t for k, t in found.items() if k in listed}
        # In scope only (contract §6): beyond the configured tables, only those of a discovered subscription that hold
        # an owned route. A table that shares a resource group with a configured one is not thereby managed.
        candidates = {k: t for k, t in found.items() if k not in listed and k.split("/")[2] in discovering}
        if candidates and all(n.lower() in nics for n in nic_ids):
            owner = desired(cluster, cluster.nvas[0].name, AzureView(nics, pips, tables))
            tables.update({k: t for k, t in candidates.items() if owner.owns_routes(t)})
        return AzureView(nics, pips, tables, unread, network_moves.floating_path(self.paths, cluster, nics)), missing

