"""The commands that need no app: validate a configuration, and plan a failover from live Azure, writing nothing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from azure.core.exceptions import AzureError, ClientAuthenticationError
from azure.identity import DefaultAzureCredential

from shared.adapters.arm_client import NetworkTuning
from shared.adapters.azure_network import AzureNetwork
from shared.domain.config import Cluster, Config, parse_config
from shared.domain.desired import AzureView, plan_changes
from shared.errors import ConfigError, EngineError

from .client import CliError, UsageError

ARM_SCOPE = "https://management.azure.com/.default"


class Invalid(CliError):
    """The configuration was rejected; `problems` name each field, exactly as the app words them."""

    def __init__(self, path: str, problems: list[str]) -> None:
        super().__init__(f"{path}: invalid configuration:\n" + "\n".join(f"  {p}" for p in problems))
        self.problems = problems


class SignInFailed(CliError):
    exit_code = 5


def read_config(path: str) -> Config:
    """The file, parsed by the app's own parser (shared.domain.config.parse_config)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"{path}: cannot read: {getattr(err, 'strerror', None) or err}") from None
    try:
        return parse_config(text)
    except ConfigError as err:
        raise Invalid(path, err.problems) from None


def summary(config: Config) -> list[dict[str, Any]]:
    return [{"cluster": c.name, "nvas": c.names(), "preferred": c.preferred_nva, "publicIps": len(c.public_ips),
             "routeTables": len(c.route_tables),
             "discoverySubscriptions": len(c.discover_route_tables.subscriptions) if c.discover_route_tables else 0}
            for c in config.clusters]


def pick(config: Config, name: str | None) -> Cluster:
    if name is None:
        if len(config.clusters) == 1:
            return config.clusters[0]
        raise UsageError(f"the configuration has {len(config.clusters)} clusters: name one with --cluster "
                         f"({', '.join(c.name for c in config.clusters)})")
    try:
        return config.cluster(name)
    except KeyError:
        raise UsageError(f"--cluster {name!r}: not in the configuration ({', '.join(c.name for c in config.clusters)})") from None


@dataclass(frozen=True)
class PlanResult:
    cluster: str
    to: str
    holders: dict[str, str | None]
    changes: list[dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        return {"cluster": self.cluster, "to": self.to, "publicIpHolders": self.holders, "dryRun": True, "changes": self.changes}


def holders(cluster: Cluster, view: AzureView) -> dict[str, str | None]:
    """Each configured public IP and the NVA whose IP configuration holds it now (None: no NVA of the cluster)."""
    owner = {ipconfig.lower(): nva.name for nva in cluster.nvas for ipconfig in nva.interfaces.values()}
    out: dict[str, str | None] = {}
    for pip in cluster.public_ips:
        body = view.public_ips.get(pip.id.lower()) or {}
        holder = str(((body.get("properties") or {}).get("ipConfiguration") or {}).get("id") or "")
        out[pip.id] = owner.get(holder.lower())
    return out


def plan(path: str, to: str, cluster_name: str | None, endpoint: str, timeout: float) -> PlanResult:
    """Read the cluster's NICs, public IPs and route tables with the caller's own sign-in; plan as the engine would."""
    cluster = pick(read_config(path), cluster_name)
    if to not in cluster.names():
        raise UsageError(f"--to {to!r}: not an NVA of {cluster.name} ({', '.join(cluster.names())})")
    if not endpoint.startswith("https://"):
        raise UsageError(f"--arm-endpoint {endpoint!r}: must be an https:// URL")
    credential = DefaultAzureCredential(exclude_interactive_browser_credential=True)
    try:
        credential.get_token(ARM_SCOPE)
    except ClientAuthenticationError as err:
        tried = [line.strip()[:240] for line in str(err).splitlines() if line.startswith("\t")]
        raise SignInFailed("no Azure sign-in (sign in with `az login`, or set AZURE_* for a service principal); tried:\n  "
                           + "\n  ".join(tried or [str(err).strip()[:400] or type(err).__name__])) from None
    except AzureError as err:  # the token endpoint itself failed: no answer, TLS
        first = str(err).strip().splitlines()[0][:300] if str(err).strip() else type(err).__name__
        raise CliError(f"getting an Azure token failed: {first}") from None
    network = AzureNetwork(credential, endpoint, NetworkTuning(read_deadline=timeout, connect_timeout=min(10.0, timeout)))
    try:
        view = network.read(cluster)
        planned = [c.describe() for c in plan_changes(cluster, to, view)]
    except EngineError as err:
        raise CliError(f"reading Azure failed: {err}") from None
    return PlanResult(cluster.name, to, holders(cluster, view), planned)
