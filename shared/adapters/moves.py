"""Atomic floating IP moves: which path a failover takes (the subscription feature, the permission) and the one operation.

Microsoft.Network's `POST …/virtualNetworks/{vnet}/moveIpConfigurations` (api-version 2025-09-01 and later;
`virtual_networks.begin_move_ip_configurations` in azure-mgmt-network) moves IP configurations between NICs of one virtual
network in one long-running operation, each item a source and a target IP configuration id. It is gated by the
subscription feature `Microsoft.Network/AllowMoveIpConfigurations`, read with the Features API
(`GET /subscriptions/{s}/providers/Microsoft.Features/providers/Microsoft.Network/features/{name}`, 2021-07-01).
What it carries (public IP, ASGs, pools) is not documented: the adapter verifies after it and writes what is left.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from shared.domain.desired import Change
from shared.domain.floating import FloatingTarget
from shared.domain.needs import move_needs
from shared.domain.permission_rules import Need, Verdict

_log = logging.getLogger("nva_failover.moves")
FEATURE = "Microsoft.Network/AllowMoveIpConfigurations"
FEATURES_API = "2021-07-01"
REGISTERED = "Registered"


def feature_path(subscription: str) -> str:
    namespace, name = FEATURE.split("/")
    return f"/subscriptions/{subscription}/providers/Microsoft.Features/providers/{namespace}/features/{name}"


@dataclass(frozen=True)
class Move:
    """One IP configuration moved by the operation: from the NIC holding it to the NIC that must (one virtual network)."""

    name: str
    source: str  # the IP configuration id as Azure holds it
    target: str  # the target NIC's id with the configuration's name
    vnet: str  # the virtual network's id

    @property
    def nics(self) -> tuple[str, str]:
        return self.source.split("/ipConfigurations/")[0], self.target.split("/ipConfigurations/")[0]


def _vnet(subnet: str) -> str:
    return subnet.split("/subnets/")[0] if "/subnets/" in subnet.lower() else ""


def floating_only(change: Change) -> bool:
    """The NIC write only moves floating IPs: with anything else (a public IP of `publicIps`), the write is needed anyway
    and a move before it would add an operation to the failover's critical path."""
    return set(change.before) | set(change.after) <= {"floatingIps"}


def moves_for(targets: Sequence[FloatingTarget], changes: Sequence[Change]) -> list[Move]:
    """The floating IP configurations these NIC writes would move from one NIC to another that one operation can move
    instead: held by another NIC of the same leg, in the same subnet as the target leg (so one virtual network), not
    on the target NIC already (a configuration there with the wrong content is drift, put right by a write), and with
    nothing else to write on either NIC (see floating_only)."""
    nic_changes = {c.resource.lower(): c for c in changes if c.kind == "nic"}
    out = []
    for t in targets:
        if not t.held or not t.held_subnet or t.held_subnet.lower() != t.subnet.lower() or not _vnet(t.subnet):
            continue
        source_nic = t.held.split("/ipConfigurations/")[0]
        source, target = nic_changes.get(source_nic.lower()), nic_changes.get(t.nic)
        if source is None or target is None or source_nic.lower() == t.nic or source_nic.lower() not in t.sources:
            continue
        if (dict(target.before).get("floatingIps") or {}).get(t.name) is not None:
            continue
        if not (floating_only(source) and floating_only(target)):
            continue
        out.append(Move(t.name, t.held, f"{target.resource}/ipConfigurations/{t.name}", _vnet(t.subnet)))
    return out


@dataclass(frozen=True)
class Path:
    """How a failover would move a cluster's floating IPs, and why."""

    atomic: bool
    why: str

    def text(self) -> str:
        how = "one moveIpConfigurations operation" if self.atomic else "two NIC writes in sequence"
        return f"floating IPs move with {how}: {self.why}"


def choose(subscription: str, state: str | None, error: str | None, refused: str | None, missing: Sequence[Need]) -> Path:
    """Pure: the path from the feature's registration, a refusal remembered, and the permission it needs."""
    if refused:
        return Path(False, f"the last move in {subscription} was refused ({refused})")
    if error:
        return Path(False, f"the registration of {FEATURE} in {subscription} could not be read ({error})")
    if state != REGISTERED:
        return Path(False, f"the subscription feature {FEATURE} is {state or 'NotRegistered'} in {subscription}")
    if missing:
        return Path(False, "the identity lacks " + "; ".join(n.text() for n in missing))
    return Path(True, f"the subscription feature {FEATURE} is {REGISTERED} in {subscription}")


Evaluate = Callable[[Sequence[Need]], Verdict]


class MovePaths:
    """The feature's registration per subscription (cached for `ttl`; a failed read for a minute at most), refusals
    remembered for `ttl`, and the permission."""

    def __init__(self, read: Callable[[str], str], evaluate: Evaluate | None = None, ttl: float = 600.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._read = read  # subscription -> the feature's state; raises when it cannot be read
        self._evaluate = evaluate
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._states: dict[str, tuple[float, str | None, str | None]] = {}  # sub -> (at, state, error)
        self._refused: dict[str, tuple[float, str]] = {}
        self.reads = 0

    def state(self, subscription: str) -> tuple[str | None, str | None]:
        key = subscription.lower()
        with self._lock:
            hit = self._states.get(key)
            if hit is not None and self._clock() - hit[0] < (self._ttl if hit[2] is None else min(self._ttl, 60.0)):
                return hit[1], hit[2]
        try:
            state: str | None = self._read(subscription)
            error = None
        except Exception as err:  # the boundary of one read: its reason is the path's
            state, error = None, str(err).splitlines()[0][:200] if str(err) else type(err).__name__
        with self._lock:
            self._states[key] = (self._clock(), state, error)
            self.reads += 1
        return state, error

    def refuse(self, subscription: str, why: str) -> None:
        """Azure refused a move here: take the two writes until the cache's life has passed."""
        with self._lock:
            self._refused[subscription.lower()] = (self._clock(), why)

    def _refusal(self, subscription: str) -> str | None:
        with self._lock:
            hit = self._refused.get(subscription.lower())
            return hit[1] if hit is not None and self._clock() - hit[0] < self._ttl else None

    def path(self, subscription: str, moves: Sequence[Move] = ()) -> Path:
        refused = self._refusal(subscription)
        if refused:
            return choose(subscription, None, None, refused, ())
        state, error = self.state(subscription)
        missing: Sequence[Need] = ()
        if state == REGISTERED and self._evaluate is not None and moves:
            missing = self._evaluate(move_needs([m.vnet for m in moves])).missing
        return choose(subscription, state, error, None, missing)

    def survey(self, targets: Sequence[FloatingTarget], shared: Sequence[str] = ()) -> str | None:
        """Readiness's sentence: the path a failover of these floating IPs would take (None without floating IPs).
        `shared`: the legs whose NICs also hold a public IP of `publicIps` (moved by a write whatever the path)."""
        if not targets:
            return None
        if shared:
            return Path(False, f"the NICs of leg {', '.join(shared)} also move public IPs of publicIps: their writes are "
                               "needed anyway, and a move before them would add an operation (give the public IP to the "
                               "floating configuration to move it in one)").text()
        vnets = sorted({_vnet(t.subnet) for t in targets if _vnet(t.subnet)})
        if not vnets:
            return Path(False, "the floating IPs' subnets are not known").text()
        texts = {self.path(v.split("/")[2], [Move(t.name, "", "", v) for t in targets if _vnet(t.subnet) == v]).text()
                 for v in vnets}
        return "; ".join(sorted(texts))


__all__ = ["FEATURE", "FEATURES_API", "Move", "MovePaths", "Path", "choose", "feature_path", "floating_only",
           "moves_for"]
