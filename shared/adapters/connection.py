"""Where the state table lives: NVA_HA_STATE_CONNECTION resolved the way Azure Functions resolves a binding's connection."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlparse

from shared.errors import ConfigError

DEFAULT_CONNECTION = "AzureWebJobsStorage"
PREFIX = "AzureWebJobs"  # Functions looks a connection up as AzureWebJobs<name> first, then as <name>
PROPERTIES = ("tableServiceUri", "accountName", "credential", "clientId")
# The same connection's other services, which the host and the executor's queue read (AzureWebJobsStorage has them).
OTHER_SERVICES = ("blobServiceUri", "queueServiceUri")


@dataclass(frozen=True)
class StateConnection:
    """A resolved connection: a connection string, or a Table service endpoint reached with an identity."""

    setting: str  # the setting (prefix) it was found under, for messages
    connection_string: str | None = None
    endpoint: str | None = None
    client_id: str | None = None  # a user-assigned managed identity (credential=managedidentity); None: the default

    @property
    def identity_based(self) -> bool:
        return self.connection_string is None


def _section(env: Mapping[str, str], name: str) -> tuple[str | None, dict[str, str]]:
    """The value of setting `name` and its `name__property` children (empty values count as absent)."""
    value = env.get(name) or None
    lead = f"{name.lower()}__"
    children = {k[len(lead):]: v for k, v in env.items() if k.lower().startswith(lead) and v}
    return value, children


def _connection_string(setting: str, value: str) -> StateConnection:
    if value.strip().lower() == "usedevelopmentstorage=true":
        return StateConnection(setting, connection_string=value)
    parts = dict(p.split("=", 1) for p in value.split(";") if "=" in p)
    keys = {k.strip().lower() for k in parts}
    if not keys & {"accountname", "tableendpoint", "sharedaccesssignature"}:
        raise ConfigError([f"{setting}: not a storage connection string (expected AccountName=…;AccountKey=… or "
                           "TableEndpoint=…); for an identity-based connection set "
                           f"{setting}__tableServiceUri or {setting}__accountName instead"])
    return StateConnection(setting, connection_string=value)


def _identity(setting: str, props: dict[str, str]) -> StateConnection:
    lower = {k.lower(): (k, v) for k, v in props.items()}
    unknown = sorted(k for lk, (k, _) in lower.items() if lk not in {p.lower() for p in (*PROPERTIES, *OTHER_SERVICES)})
    problems = [f"{setting}__{k}: not a property of a Table connection (known: {', '.join(PROPERTIES)})" for k in unknown]
    uri = lower.get("tableserviceuri", ("", ""))[1]
    account = lower.get("accountname", ("", ""))[1]
    credential = lower.get("credential", ("", ""))[1]
    client_id = lower.get("clientid", ("", ""))[1]
    if uri and account:
        problems.append(f"{setting}__tableServiceUri and {setting}__accountName: set one of the two, not both")
    elif not uri and not account:
        problems.append(f"{setting}: set a connection string, or {setting}__tableServiceUri / {setting}__accountName")
    if uri:
        parsed = urlparse(uri)
        if parsed.scheme not in {"https", "http"} or not parsed.netloc:
            problems.append(f"{setting}__tableServiceUri: {uri!r} is not an http(s) URL")
    if account and not (3 <= len(account) <= 24 and account.isalnum() and account.islower()):
        problems.append(f"{setting}__accountName: {account!r} is not a storage account name (3-24 lowercase letters and digits)")
    if credential and credential.lower() != "managedidentity":
        problems.append(f"{setting}__credential: {credential!r} is not supported (only 'managedidentity')")
    if client_id and credential.lower() != "managedidentity":
        problems.append(f"{setting}__clientId: needs {setting}__credential=managedidentity")
    if problems:
        raise ConfigError(problems)
    endpoint = uri.rstrip("/") if uri else f"https://{account}.table.core.windows.net"
    return StateConnection(setting, endpoint=endpoint, client_id=client_id or None)


def resolve_state_connection(env: Mapping[str, str]) -> StateConnection:
    """NVA_HA_STATE_CONNECTION (default AzureWebJobsStorage) as Functions resolves it; ConfigError naming the settings."""
    name = (env.get("NVA_HA_STATE_CONNECTION") or DEFAULT_CONNECTION).strip()
    if not name or any(c in name for c in " ;=") or "__" in name:
        raise ConfigError([f"NVA_HA_STATE_CONNECTION: {name!r} is not a connection name (a setting name without '__')"])
    candidates = [name] if name.lower().startswith(PREFIX.lower()) else [PREFIX + name, name]
    for setting in candidates:
        value, props = _section(env, setting)
        if value is None and not props:
            continue
        if value is not None and props:
            raise ConfigError([f"{setting}: both a connection string and identity-based properties "
                               f"({', '.join(f'{setting}__{k}' for k in sorted(props))}) are set; keep one"])
        return _connection_string(setting, value) if value is not None else _identity(setting, props)
    looked = " or ".join(candidates)
    raise ConfigError([f"NVA_HA_STATE_CONNECTION: connection {name!r} is not set: set {looked} to a connection string, "
                       f"or {candidates[-1]}__tableServiceUri / {candidates[-1]}__accountName (with __credential, __clientId)"])


def connection_settings(env: Mapping[str, str]) -> list[tuple[str, str | None]]:
    """Every setting the state connection is read from (to notice when it changes)."""
    name = env.get("NVA_HA_STATE_CONNECTION") or DEFAULT_CONNECTION
    prefixes = {name.lower(), (PREFIX + name).lower()}
    return sorted((k, v) for k, v in env.items()
                  if k == "NVA_HA_STATE_CONNECTION" or k.lower() in prefixes or k.lower().split("__")[0] in prefixes)
