"""The network adapter's atomic floating IP moves: the feature read, the one operation, and the writes after it."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from azure.core.exceptions import HttpResponseError
from azure.core.rest import HttpRequest
from azure.mgmt.network.models import MoveIpConfigurationItem, MoveIpConfigurationResourceReference, MoveIpConfigurationsRequest

from shared.adapters.moves import FEATURES_API, Move, MovePaths, feature_path, moves_for
from shared.adapters.pacer import Pacer
from shared.adapters.polling import PacedPolling
from shared.adapters.write_order import Run, reason
from shared.domain.config import Cluster
from shared.domain.desired import Body, Change, Desired
from shared.domain.floating import floating_targets
from shared.errors import StateConflict, TransientError


class AzureNetwork(Protocol):
    """What these functions use of shared.adapters.azure_network.AzureNetwork (named here, so the two modules do not import each other)."""

    _endpoint: str
    _pool: ThreadPoolExecutor
    pacer: Pacer
    paths: MovePaths

    @property
    def tuning(self) -> Any: ...  # NetworkTuning: poll_interval, write_deadline

    def client(self, subscription: str) -> Any: ...  # NetworkManagementClient

    def _get(self, resource_id: str, deadline: float) -> dict[str, Any] | None: ...

_log = logging.getLogger("nva_failover.network")
# Answers that say the move is not for this subscription (the feature, the permission, the API): remembered a while.
REFUSED = {400, 403, 404, 405}


def feature_state(net: AzureNetwork, subscription: str) -> str:
    """The feature's registration state, as the Features API answers it; raises when it cannot be read."""
    request = HttpRequest("GET", f"{net._endpoint}{feature_path(subscription)}?api-version={FEATURES_API}")
    response = net.client(subscription).send_request(request)
    if response.status_code != 200:
        try:
            code = response.json().get("error", {}).get("code", "")
        except ValueError:
            code = ""
        raise RuntimeError(f"{response.status_code} {code}".strip())
    return str((response.json().get("properties") or {}).get("state") or "NotRegistered")


def floating_path(paths: MovePaths, cluster: Cluster, nics: dict[str, Body]) -> str | None:
    """The way a failover would move the floating IPs, and why (readiness says it), when they can be planned."""
    if not cluster.floating_ips:
        return None
    try:
        shared = sorted({f.interface for f in cluster.floating_ips for p in cluster.public_ips for nva in cluster.nvas
                         if nva.nic_id(p.interface).lower() == nva.nic_id(f.interface).lower()})
        return paths.survey(floating_targets(cluster, cluster.nvas[-1].name, nics), shared)
    except Exception as err:  # the boundary of the path's survey: readiness says why, the rest is read
        return f"floating IPs: the path a failover would take cannot be told ({reason(err)})"


def movable(net: AzureNetwork, want: Desired, changes: Sequence[Change]) -> list[Move]:
    """The moves the path allows: for each virtual network, when its subscription has the feature and the permission.
    Choosing never fails a failover: when the path cannot be told, the writes are made."""
    out: list[Move] = []
    try:
        candidates = moves_for(want.floating, changes)
        for vnet in sorted({m.vnet for m in candidates}):
            items = [m for m in candidates if m.vnet == vnet]
            path = net.paths.path(vnet.split("/")[2], items)
            _log.info("%s", path.text())
            if path.atomic:
                out += items
    except Exception as err:  # the boundary of the choice
        _log.warning("the floating IP path could not be told, the NIC writes follow: %s", err)
        return []
    return out


def move(net: AzureNetwork, vnet: str, items: Sequence[Move], deadline: float) -> None:
    interval, polls = net.tuning.poll_interval, net.pacer.polls
    sub, group, name = vnet.split("/")[2], vnet.split("/")[4], vnet.split("/")[-1]
    body = MoveIpConfigurationsRequest(move_ip_configuration_items=[
        MoveIpConfigurationItem(source_ip_configuration=MoveIpConfigurationResourceReference(id=m.source),
                                target_ip_configuration=MoveIpConfigurationResourceReference(id=m.target))
        for m in items])
    polling = PacedPolling(interval, lambda: deadline, f"move IP configurations in {vnet}", polls, "nic")
    net.client(sub).virtual_networks.begin_move_ip_configurations(group, name, body, polling=polling).result()


def settled(net: AzureNetwork, resource: str, deadline: float) -> dict[str, Any]:
    interval = net.tuning.poll_interval
    body = net._get(resource, deadline)
    while body is not None and (body.get("properties") or {}).get("provisioningState") in {"Updating", "Creating"}:
        if time.monotonic() > deadline:
            raise TransientError(f"{resource} still Updating at the deadline")
        time.sleep(interval)
        body = net._get(resource, deadline) or body
    if body is None:
        raise TransientError(f"{resource} could not be read after the move")
    return body


def move_then_settle(net: AzureNetwork, items: Sequence[Move], pair: Sequence[Change], want: Desired, fence: Callable[[str], None],
                      report: Callable[[Change], None], run: Run) -> list[tuple[Change, bool]]:
    """Move the floating configurations in one operation per virtual network, then read both NICs of each move and
    write what is still not right (what the move did not carry, the NICs' other public IPs; everything, when the move
    failed). Answers the writes that must wait for the detaches (phase 1), with whether each is quiet."""
    deadline = time.monotonic() + net.tuning.write_deadline
    moved: set[str] = set()  # the NICs (lower-cased) whose move landed: their planned changes are what it did
    for vnet in sorted({m.vnet for m in items}):
        batch = [m for m in items if m.vnet == vnet]
        nics = sorted({n for m in batch for n in m.nics})
        for nic in nics:
            fence(f"write {nic}")
        started = time.monotonic()
        try:
            move(net, vnet, batch, deadline)
            moved.update(n.lower() for n in nics)
            _log.info("moved %s in %.1fs with one operation", ", ".join(m.name for m in batch), time.monotonic() - started)
        except StateConflict:
            raise
        except Exception as err:  # the boundary of the move: whatever it left, the writes below put right
            why = f"{getattr(getattr(err, 'error', None), 'code', None) or type(err).__name__}"
            if isinstance(err, HttpResponseError) and err.status_code in REFUSED:
                net.paths.refuse(vnet.split("/")[2], f"{err.status_code} {why}")
            _log.warning("the move in %s failed (%s): the NIC writes follow", vnet, str(err).splitlines()[0][:300])
    later: list[tuple[Change, bool]] = []
    bodies = [net._pool.submit(settled, net, c.resource, deadline) for c in pair]  # both NICs read back at once
    for body in bodies:
        left = want.nic_change(body.result())
        if left is None:
            continue
        quiet = left.resource.lower() in moved
        if left.phase == 0:
            run(left, quiet)
        else:
            later.append((left, quiet))
    for change in pair:
        if change.resource.lower() in moved:
            report(change)
    return later
