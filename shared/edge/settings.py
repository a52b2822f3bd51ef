"""Reads the app settings (contract §3) once, at the start of a run, and builds the engine from them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from azure.core.credentials import TokenCredential
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

from shared.adapters.arm_client import NetworkTuning
from shared.adapters.azure_network import AzureNetwork
from shared.adapters.connection import resolve_state_connection
from shared.adapters.dispatch import QueueDispatcher, queue_client_from_settings
from shared.adapters.headers import Secrets
from shared.adapters.pacer import shared_pacer
from shared.adapters.permissions import AzurePermissionReader, PermissionCache
from shared.adapters.probes import NetworkProber
from shared.adapters.roles import RoleAwareProber, RoleProber
from shared.adapters.table_store import TableStateStore, table_client
from shared.control.assess import Assessor
from shared.control.context import Tuning
from shared.domain.config import Config, load_config
from shared.domain.messages import DEFAULT_QUEUE, valid_queue_name
from shared.domain.schedule import Schedule, lease_seconds
from shared.edge.engine import Engine
from shared.errors import ConfigError

DEFAULT_TABLE = "nvahastate"
DEFAULT_ARM = "https://management.azure.com"
DEFAULT_SCHEDULE = "*/5 * * * * *"


@dataclass(frozen=True)
class Settings:
    """The parsed settings: the configuration, where state and Resource Manager are, and engine pacing."""

    config: Config
    table: str
    arm_endpoint: str
    client_id: str | None
    poll_interval: float
    schedule: str
    lease_seconds: float  # derived from the schedule: a crashed change is resumed by the next scheduled run
    queue: str = DEFAULT_QUEUE  # the executor's queue, in AzureWebJobsStorage
    manual_wait_seconds: float = 200.0
    secrets: Secrets = field(default_factory=Secrets)  # the settings probe and role headers name (never shown)


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError([f"{name}: {raw!r} is not a number"]) from None
    if value <= 0:
        raise ConfigError([f"{name}: must be greater than 0, not {raw}"])
    return value


def read_settings(env: Mapping[str, str], app_root: Path) -> Settings:
    table = env.get("NVA_HA_STATE_TABLE") or DEFAULT_TABLE
    if not (3 <= len(table) <= 63 and table.isalnum() and table[0].isalpha()):
        raise ConfigError([f"NVA_HA_STATE_TABLE: {table!r} is not a table name (3-63 letters and digits, starting with a letter)"])
    endpoint = env.get("NVA_HA_ARM_ENDPOINT") or DEFAULT_ARM
    if not endpoint.startswith("https://"):
        raise ConfigError([f"NVA_HA_ARM_ENDPOINT: {endpoint!r} must be an https:// URL"])
    expression = env.get("NVA_HA_PROBE_SCHEDULE") or DEFAULT_SCHEDULE
    try:
        schedule = Schedule(expression)
    except ValueError as err:
        raise ConfigError([f"NVA_HA_PROBE_SCHEDULE: {err}"]) from None
    queue = env.get("NVA_HA_QUEUE") or DEFAULT_QUEUE
    if not valid_queue_name(queue):
        raise ConfigError([f"NVA_HA_QUEUE: {queue!r} is not a queue name (3-63 lower-case letters, digits and single hyphens)"])
    wait = _positive(env, "NVA_HA_MANUAL_WAIT_SECONDS", 200.0)
    if wait > 220:
        raise ConfigError([f"NVA_HA_MANUAL_WAIT_SECONDS: {wait:g} is above 220 (Azure ends an HTTP request at 230 s)"])
    config = load_config(env, app_root)
    return Settings(
        config=config,
        table=table,
        arm_endpoint=endpoint,
        client_id=env.get("AZURE_CLIENT_ID") or None,
        poll_interval=_positive(env, "NVA_HA_POLL_INTERVAL_SECONDS", 1.0),
        schedule=expression,
        lease_seconds=lease_seconds(schedule),
        queue=queue,
        manual_wait_seconds=wait,
        secrets=Secrets.from_settings(config, env),
    )


def credential(client_id: str | None) -> TokenCredential:
    """Managed identity in Azure (App Service protocol), a developer's sign-in elsewhere."""
    return DefaultAzureCredential(managed_identity_client_id=client_id, exclude_interactive_browser_credential=True)


def build_engine(env: Mapping[str, str], app_root: Path, network_tuning: NetworkTuning | None = None,
                 actor: str | None = None, queue: bool = True) -> Engine:
    """The engine for these settings. Raises ConfigError naming every bad field; touches nothing before that.
    With `queue`, the changes it locks go to the executor's queue; without, it carries them out itself."""
    settings = read_settings(env, app_root)
    state = resolve_state_connection(env)

    def storage_credential(client_id: str | None) -> TokenCredential:
        return ManagedIdentityCredential(client_id=client_id) if client_id else credential(settings.client_id)

    store = TableStateStore(table_client(state, settings.table, storage_credential))
    pacing = network_tuning or NetworkTuning()
    arm_credential = credential(settings.client_id)
    reconcile = max(c.policy.reconcile_every_seconds for c in settings.config.clusters)
    permissions = PermissionCache(AzurePermissionReader(arm_credential, settings.arm_endpoint), ttl=2 * reconcile)
    network = AzureNetwork(arm_credential, settings.arm_endpoint, replace(pacing, poll_interval=settings.poll_interval),
                           pacer=shared_pacer(f"{settings.arm_endpoint}|{settings.client_id or 'system-assigned'}"),
                           denied=permissions.refresh, permissions=permissions)
    tuning = Tuning(lease_seconds=settings.lease_seconds, renew_every_seconds=settings.lease_seconds / 5,
                    manual_wait_seconds=settings.manual_wait_seconds)
    dispatcher = QueueDispatcher(queue_client_from_settings(env, settings.queue, storage_credential)) if queue else None
    prober = RoleAwareProber(NetworkProber(secrets=settings.secrets), RoleProber(settings.secrets))
    return Engine(settings.config, store, prober, network, actor=actor, tuning=tuning, dispatcher=dispatcher,
                  assessor=Assessor(network, permissions))
