"""Network actions on Azure with azure-mgmt-network: reads (arm_reads), paced long-running writes, If-Match."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from azure.mgmt.network.models import NetworkInterface, RouteTable

from shared.adapters import network_moves
from shared.adapters.arm_client import Fence, _log, _parts
from shared.adapters.arm_reads import ArmReads
from shared.adapters.polling import PacedPolling
from shared.adapters.write_order import Run, Skip, apply_in_order
from shared.domain.desired import Change, Desired
from shared.errors import PermanentError, TransientError


class AzureNetwork(ArmReads):
    """The one Azure implementation of the NetworkActions port (shared.control.ports)."""

    def _put(self, change: Change, deadline: Callable[[], float]) -> None:
        sub, group, name = _parts(change.resource)
        ops = self.client(sub)
        headers = {"If-Match": change.etag} if change.etag else {}
        polling = PacedPolling(self.tuning.poll_interval, deadline, f"write {change.resource}", self.pacer.polls, change.kind)
        if change.kind == "nic":
            ops.network_interfaces.begin_create_or_update(
                group, name, NetworkInterface(change.body), headers=headers, polling=polling).result()
        else:
            ops.route_tables.begin_create_or_update(group, name, RouteTable(change.body), headers=headers, polling=polling).result()

    def _write(self, change: Change, want: Desired, fence: Fence) -> Change | None:
        """Write one resource until it holds what it should; re-read and re-plan after a conflict or a lost answer."""
        # The deadline bounds Azure, not our own pacing: time held for budget (a full 5-minute window) extends it.
        held = self._held.write = [0.0]  # this thread's PUTs add their wait (status polls run in the SDK's thread)
        start = time.monotonic()

        def deadline() -> float:
            return start + self.tuning.write_deadline + held[0]

        current: Change | None = change
        attempt = 0
        while current is not None:
            attempt += 1
            fence(f"write {current.resource}")
            started = time.monotonic()
            _log.info("write started: %s %s", current.action, current.resource)
            try:
                self._put(current, deadline)
                _log.info("write completed: %s %s in %.1fs", current.action, current.resource, time.monotonic() - started)
                # Written again after it ended Failed with its body kept: still the change that was meant.
                return replace(change, body=current.body, etag=current.etag) if current.action == "rewriteFailed" else current
            except Exception as raw:
                wait = self._backoff(raw, f"{current.action} {current.resource}", attempt, deadline())
                _log.info("write %s failed, re-reading in %.1fs: %s", current.resource, wait, raw)
                time.sleep(wait)
            body = self._get(current.resource, deadline())
            if body is None:
                raise PermanentError(f"{current.resource} disappeared during the failover")
            while (body.get("properties") or {}).get("provisioningState") in {"Updating", "Creating"}:
                if time.monotonic() > deadline():
                    raise TransientError(f"{current.resource} still Updating at the deadline")
                time.sleep(self.tuning.poll_interval)
                body = self._get(current.resource, deadline()) or body
            replanned = want.nic_change(body) if current.kind == "nic" else want.route_table_change(body)
            if replanned is None:
                return replace(current, etag=body.get("etag"))  # already right: a lost answer to a write that landed
            current = replanned
        return None

    def apply(self, changes: Sequence[Change], want: Desired, fence: Fence, on_done: Callable[[Change], None],
              skip: Skip | None = None) -> list[Change]:
        # Floating IPs that one operation can move (shared.adapters.moves): both NICs of each are left to it, then put right.
        moves = network_moves.movable(self, want, changes)

        def mover(pair: Sequence[Change], report: Callable[[Change], None], run: Run) -> list[tuple[Change, bool]]:
            return network_moves.move_then_settle(self, moves, pair, want, fence, report, run)

        return apply_in_order(changes, lambda c: self._write(c, want, fence), self._nic_pool, self._table_pool, on_done, skip,
                              frozenset(n.lower() for m in moves for n in m.nics), mover)
