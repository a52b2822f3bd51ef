"""Pure: failover readiness (contract §4 `Readiness`): the five checks, each with a detail an engineer can act on."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.domain.config import Cluster
from shared.domain.desired import NOT_FOUND, AzureView, foreign_held, plan_changes
from shared.domain.permission_rules import Need, Verdict
from shared.errors import EngineError

CHECKS = ("state", "resources", "placement", "standby", "permissions", "roles")  # roles: only when NVAs have a role probe


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Readiness:
    """Could a failover to every standby succeed right now? Recorded with the cluster state."""

    checked_at: datetime
    checks: tuple[Check, ...]

    @property
    def ready(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failing(self) -> list[str]:
        return [c.name for c in self.checks if not c.ok]

    def detail(self) -> str:
        return "; ".join(f"{c.name}: {c.detail}" for c in self.checks if not c.ok)

    def summary(self) -> dict[str, Any]:
        """Status.readiness."""
        return {"ready": self.ready, "checkedAt": _iso(self.checked_at), "failing": self.failing}

    def as_json(self, cluster: str) -> dict[str, Any]:
        """Readiness (the answer of `check`)."""
        return {"cluster": cluster, "ready": self.ready, "checkedAt": _iso(self.checked_at),
                "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks]}

    def to_text(self) -> str:
        return json.dumps({"checkedAt": _iso(self.checked_at), "checks": [[c.name, c.ok, c.detail] for c in self.checks]})

    @staticmethod
    def from_text(text: str | None) -> Readiness | None:
        if not text:
            return None
        data = json.loads(text)
        return Readiness(datetime.fromisoformat(data["checkedAt"].replace("Z", "+00:00")),
                         tuple(Check(str(n), bool(ok), str(d)) for n, ok, d in data["checks"]))


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def changed(previous: Readiness | None, now: Readiness) -> bool:
    """ReadinessChanged is due: the verdict or the failing checks changed, or the first verdict is not ready."""
    if previous is None:
        return not now.ready
    return (previous.ready, previous.failing) != (now.ready, now.failing)


def state_check(error: str | None) -> Check:
    if error:
        return Check("state", False, f"the state table cannot be read and written: {error}. Check the storage account, "
                                     "its firewall and the identity's 'Storage Table Data Contributor' role")
    return Check("state", True, "the state table was read and written")


def resources_check(cluster: Cluster, view: AzureView, missing: Sequence[str]) -> Check:
    """Every configured NIC, IP configuration, public IP and route table exists."""
    gone = list(missing)
    for nva in cluster.nvas:
        for leg, ipconfig in nva.interfaces.items():
            nic = view.nics.get(nva.nic_id(leg).lower())
            configs = {str(c.get("id", "")).lower() for c in ((nic or {}).get("properties") or {}).get("ipConfigurations") or []}
            if nic is not None and ipconfig.lower() not in configs:
                gone.append(f"{ipconfig} (IP configuration of {nva.name}.{leg})")
    refused = [f"{r} ({why})" for r, why in view.unread.items() if r not in missing and why != NOT_FOUND]
    own = frozenset(nva.nic_id(leg).lower() for nva in cluster.nvas for leg in nva.interfaces)
    elsewhere = [f"{view.public_ips[p].get('id', p)} is attached to {nic}" for p, nic in sorted(foreign_held(view, own).items())]
    if elsewhere:
        return Check("resources", False, "configured public IPs on a NIC outside the cluster (a configuration error; they "
                     f"are never taken from it): {'; '.join(elsewhere)}. Detach them there, or correct publicIps in "
                     "NVA_HA_CONFIG" + (f"; also not found or unreadable: {', '.join([*gone, *refused])}" if gone or refused else ""))
    if gone or refused:
        return Check("resources", False, "; ".join(
            [*(["not found in Azure: " + ", ".join(gone)] if gone else []),
             *(["could not be read: " + ", ".join(refused)] if refused else [])]) +
            ". Restore them (or the identity's access to them), or correct the configuration (NVA_HA_CONFIG) to name what "
            "exists. A failover away from a failed NVA goes on without them; a move away from a healthy one does not")
    return Check("resources", True, f"all {sum(len(n.interfaces) for n in cluster.nvas)} IP configurations, "
                                    f"{len(cluster.public_ips)} public IPs and {len(view.route_tables)} route tables exist"
                                    + (f"; {view.floating_path}" if view.floating_path else ""))


def placement_check(cluster: Cluster, active: str, view: AzureView, usable: bool) -> Check:
    """Public IPs and owned routes are where the recorded active NVA needs them."""
    if not usable:
        return Check("placement", False, "not evaluated: configured resources are missing (see resources)")
    try:
        drift = plan_changes(cluster, active, view)
    except EngineError as err:
        return Check("placement", False, f"not evaluated: {err}")
    if drift:
        where = ", ".join(f"{c.resource} ({c.action}: {dict(c.before)} should be {dict(c.after)})" for c in drift)
        return Check("placement", False, f"Azure differs from active NVA {active}: {where}. The next reconcile repairs it; "
                                         "find who changed it, or fail over to the active NVA to repair it now")
    return Check("placement", True, f"public IPs and owned routes are on {active}")


def standby_check(cluster: Cluster, active: str, healthy: Collection[str]) -> Check:
    standbys = [n for n in cluster.names() if n != active]
    up = [n for n in standbys if n in healthy]
    if not up:
        return Check("standby", False, f"no standby is healthy ({', '.join(standbys)}): a failover now would have nowhere to "
                                       "go. Check the standby appliances and their health probes")
    return Check("standby", True, f"healthy standby: {', '.join(up)}")


def permissions_check(verdict: Verdict | None, by_target: Mapping[Need, Sequence[str]], errors: Sequence[str],
                      why_not: str | None = None) -> Check:
    """The identity may make every write a failover to each NVA needs; unreadable permissions count as ok."""
    if verdict is None:
        return Check("permissions", True, f"not evaluated: {why_not}")
    notes = []
    if verdict.unreadable:
        notes.append("unreadable: permissions could not be read at " + ", ".join(verdict.unreadable) +
                     (f" ({'; '.join(errors)})" if errors else "") +
                     ": counted as granted there (grant Microsoft.Authorization/permissions/read to check them)")
    if verdict.missing:
        lines = [f"{n.text()} (failover to {', '.join(by_target.get(n, ()))})" for n in verdict.missing]
        return Check("permissions", False, "missing: " + "; ".join(lines) +
                     ". Add these actions to the identity's role at those scopes (see infra/modules/nva-role.bicep)"
                     + (". " + " ".join(notes) if notes else ""))
    if notes:
        return Check("permissions", True, " ".join(notes))
    return Check("permissions", True, f"all {len(by_target)} actions a failover needs are granted")


def roles_check(cluster: Cluster, active: str, roles: Mapping[str, tuple[str, str]]) -> Check | None:
    """With role probes: every role is readable, the active NVA claims active and every standby claims standby."""
    if not any(n.role is not None for n in cluster.nvas):
        return None
    problems = []
    for nva in cluster.nvas:
        if nva.role is None:
            continue
        role, detail = roles.get(nva.name, ("unknown", "not asked yet"))
        if role == "unknown":
            problems.append(f"{nva.name}'s role cannot be read ({detail}): check its role probe, address and the app settings "
                            "its headers name")
        elif nva.name == active and role != "active":
            problems.append(f"{nva.name} is where Azure has the cluster but answers {role} ({detail})")
        elif nva.name != active and role != "standby":
            problems.append(f"{nva.name} is a standby in Azure but claims {role} ({detail})")
    if problems:
        return Check("roles", False, "; ".join(problems))
    return Check("roles", True, f"roles readable; {active} claims active and "
                                f"{', '.join(n for n in cluster.names() if n != active)} claim standby")
