"""The ports a run does its I/O through (the state store's is shared.domain.state.StateStore, the prober's
shared.domain.observations.Prober, the queue's shared.domain.messages.Dispatcher); the composition root (shared.edge.settings) wires in one
adapter for each."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from shared.domain.config import Cluster
from shared.domain.desired import AzureView, Change, Desired
from shared.domain.permission_rules import Need, Verdict

Fence = Callable[[str], None]  # called before each write and after it completes; raises StateConflict to stop
Skip = Callable[[Change, str], None]  # a route table write given up, and why


class NetworkActions(Protocol):
    """Resource Manager, as a run needs it (shared.adapters.azure_network.AzureNetwork)."""

    def read(self, cluster: Cluster) -> AzureView:
        """Every NIC of the cluster's NVAs, its public IPs and their holders, and the managed route tables."""

    def survey(self, cluster: Cluster) -> tuple[AzureView, list[str]]:
        """As read(), without raising for configured resources Azure does not have: it lists them instead."""

    def apply(self, changes: Sequence[Change], desired: Desired, fence: Fence, on_done: Callable[[Change], None],
              skip: Skip | None = None) -> list[Change]:
        """Make the writes: detaches and route tables in parallel, then attaches; one write at a time per resource.
        With `skip`, a route table write that fails is handed to it (with the reason) instead of failing the rest."""


class Permissions(Protocol):
    """The caller's permissions, as the gate and readiness ask for them (shared.adapters.permissions.PermissionCache)."""

    def evaluate(self, needs: Sequence[Need], refresh: bool = False) -> Verdict:
        """Which needs are not granted, and the scopes whose permissions could not be read."""

    def prefetch(self, scopes: Iterable[str]) -> None:
        """Start reading these scopes in the background (a new process's first failover finds them warm)."""

    def errors(self, scopes: Iterable[str]) -> list[str]:
        """Why each of these scopes could not be read."""
