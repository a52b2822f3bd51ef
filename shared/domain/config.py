"""Parses and validates the configuration document (contract §2) once, into typed, frozen objects."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shared.domain import bounded_json
from shared.domain.config_probe import Probe, Role, role_checks
from shared.domain.config_scope import FloatingIp, RouteFilter, floating_checks
from shared.errors import ConfigError

NAME = r"^[a-z0-9-]{1,63}$"
MAX_DOCUMENT = 4 * 1024 * 1024  # a configuration larger than this is refused before it is parsed
_SEG = r"[^/]+"
IPCONFIG_ID = re.compile(
    rf"^/subscriptions/{_SEG}/resourceGroups/{_SEG}/providers/Microsoft\.Network/networkInterfaces/{_SEG}/ipConfigurations/{_SEG}$", re.I)
PIP_ID = re.compile(rf"^/subscriptions/{_SEG}/resourceGroups/{_SEG}/providers/Microsoft\.Network/publicIPAddresses/{_SEG}$", re.I)
ROUTE_TABLE_ID = re.compile(rf"^/subscriptions/{_SEG}/resourceGroups/{_SEG}/providers/Microsoft\.Network/routeTables/{_SEG}$", re.I)
SUBSCRIPTION = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Nva(_Model):
    name: Annotated[str, Field(pattern=NAME)]
    probe: Probe
    role: Role | None = None
    interfaces: dict[Annotated[str, Field(min_length=1, max_length=63)], str]

    @field_validator("interfaces")
    @classmethod
    def _interfaces(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("must name at least one interface")
        for leg, ipconfig in value.items():
            if not IPCONFIG_ID.match(ipconfig):
                raise ValueError(f"{leg!r} is not the resource id of a network interface IP configuration")
        return value

    def nic_id(self, leg: str) -> str:
        return self.interfaces[leg].split("/ipConfigurations/")[0]


class PublicIp(_Model):
    id: str
    interface: str

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not PIP_ID.match(value):
            raise ValueError("is not the resource id of a public IP address")
        return value


class Discovery(_Model):
    subscriptions: tuple[str, ...]

    @field_validator("subscriptions")
    @classmethod
    def _subs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [s for s in value if not SUBSCRIPTION.match(s)]
        if bad:
            raise ValueError(f"not subscription ids: {bad}")
        if not value:
            raise ValueError("must list at least one subscription")
        return value


class Policy(_Model):
    unhealthy_threshold: Annotated[int, Field(ge=1, le=100)] = Field(default=2, alias="unhealthyThreshold")
    healthy_threshold: Annotated[int, Field(ge=1, le=100)] = Field(default=2, alias="healthyThreshold")
    probe_timeout_seconds: Annotated[float, Field(gt=0, le=60)] = Field(default=2.0, alias="probeTimeoutSeconds")
    hold_down_seconds: Annotated[float, Field(ge=0)] = Field(default=300.0, alias="holdDownSeconds")
    failback: Literal["never", "preferred"] = "never"
    failback_after_seconds: Annotated[float, Field(ge=0)] = Field(default=600.0, alias="failbackAfterSeconds")
    reconcile_every_seconds: Annotated[float, Field(gt=0)] = Field(default=300.0, alias="reconcileEverySeconds")
    decider: Literal["probes", "appliance"] = "probes"

    @field_validator("probe_timeout_seconds", "hold_down_seconds", "failback_after_seconds", "reconcile_every_seconds",
                     mode="before")
    @classmethod
    def _number(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("must be a number")
        return float(value) if isinstance(value, int) else value


class Cluster(_Model):
    name: Annotated[str, Field(pattern=NAME)]
    nvas: tuple[Nva, ...]
    preferred: str | None = None
    public_ips: tuple[PublicIp, ...] = Field(default=(), alias="publicIps")
    floating_ips: tuple[FloatingIp, ...] = Field(default=(), alias="floatingIps")
    route_tables: tuple[str, ...] = Field(default=(), alias="routeTables")
    discover_route_tables: Discovery | None = Field(default=None, alias="discoverRouteTables")
    route_filter: RouteFilter | None = Field(default=None, alias="routeFilter")
    policy: Policy = Policy()

    @field_validator("route_tables")
    @classmethod
    def _tables(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for table in value:
            if not ROUTE_TABLE_ID.match(table):
                raise ValueError(f"{table!r} is not the resource id of a route table")
        return value

    @property
    def preferred_nva(self) -> str:
        return self.preferred or self.nvas[0].name

    @property
    def legs(self) -> tuple[str, ...]:
        return tuple(self.nvas[0].interfaces)

    def nva(self, name: str) -> Nva:
        for nva in self.nvas:
            if nva.name == name:
                return nva
        raise KeyError(name)

    def names(self) -> list[str]:
        return [n.name for n in self.nvas]


class Config(_Model):
    clusters: tuple[Cluster, ...]

    def cluster(self, name: str) -> Cluster:
        for cluster in self.clusters:
            if cluster.name == name:
                return cluster
        raise KeyError(name)


_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def _path(loc: tuple[int | str, ...]) -> str:
    """A field path: clusters[0].nvas[1].interfaces; keys that are not plain names are quoted: policy[""]."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == "[key]":
            out += " (key)"
        elif _IDENT.match(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part)}]"
    return out or "(document)"


def _cross_checks(config: Config) -> list[str]:
    """Rules that span fields: unique names, the same legs on every NVA, references that resolve."""
    problems: list[str] = []
    if not config.clusters:
        problems.append("clusters: must list at least one cluster")
    seen_clusters: set[str] = set()
    ipconfigs: dict[str, str] = {}
    for c, cluster in enumerate(config.clusters):
        at = f"clusters[{c}]"
        if cluster.name in seen_clusters:
            problems.append(f"{at}.name: duplicate cluster name {cluster.name!r}")
        seen_clusters.add(cluster.name)
        if len(cluster.nvas) < 2:
            problems.append(f"{at}.nvas: a cluster needs at least two NVAs, found {len(cluster.nvas)}")
        names: set[str] = set()
        legs = set(cluster.nvas[0].interfaces) if cluster.nvas else set()
        for n, nva in enumerate(cluster.nvas):
            if nva.name in names:
                problems.append(f"{at}.nvas[{n}].name: duplicate NVA name {nva.name!r}")
            names.add(nva.name)
            for leg in sorted(legs - set(nva.interfaces)):
                problems.append(f'{at}.nvas[{n}].interfaces: missing "{leg}"')
            for leg in sorted(set(nva.interfaces) - legs):
                problems.append(f'{at}.nvas[{n}].interfaces: "{leg}" is not an interface of {cluster.nvas[0].name!r}')
            for leg, ipconfig in nva.interfaces.items():
                owner = ipconfigs.setdefault(ipconfig.lower(), f"{at}.nvas[{n}].interfaces.{leg}")
                if owner != f"{at}.nvas[{n}].interfaces.{leg}":
                    problems.append(f"{at}.nvas[{n}].interfaces.{leg}: the same IP configuration as {owner}")
        if cluster.preferred is not None and cluster.preferred not in names:
            problems.append(f"{at}.preferred: {cluster.preferred!r} is not an NVA of the cluster")
        pips: set[str] = set()
        carried: dict[str, int] = {}
        for p, pip in enumerate(cluster.public_ips):
            first = carried.setdefault(pip.interface, p)
            if first != p:
                problems.append(f"{at}.publicIps[{p}].interface: {pip.interface!r} carries publicIps[{first}] already "
                                "(an IP configuration holds one public IP)")
            if pip.interface not in legs:
                problems.append(f"{at}.publicIps[{p}].interface: {pip.interface!r} is not an interface of the NVAs ({sorted(legs)})")
            if pip.id.lower() in pips:
                problems.append(f"{at}.publicIps[{p}].id: listed twice")
            pips.add(pip.id.lower())
        problems += floating_checks(cluster, at, legs)
        problems += role_checks(cluster.nvas, cluster.policy.decider, cluster.policy.probe_timeout_seconds, at)
        tables = [t.lower() for t in cluster.route_tables]
        for t, table in enumerate(tables):
            if table in tables[:t]:
                problems.append(f"{at}.routeTables[{t}]: listed twice")
        if not (cluster.public_ips or cluster.floating_ips or cluster.route_tables or cluster.discover_route_tables):
            problems.append(f"{at}: manages nothing: give publicIps, floatingIps, routeTables or discoverRouteTables")
    return problems


def parse_config(document: str | bytes | Mapping[str, Any]) -> Config:
    """Validate a configuration document; raise ConfigError naming every offending field."""
    if isinstance(document, str | bytes):
        try:
            raw = bounded_json.loads(document, max_bytes=MAX_DOCUMENT)
        except ValueError as err:
            raise ConfigError([f"(document): not valid JSON: {err}"]) from None
    else:
        raw = document
    if not isinstance(raw, Mapping):
        raise ConfigError(["(document): must be a JSON object with a 'clusters' array"])
    try:
        text = json.dumps(raw)
    except (RecursionError, TypeError, ValueError) as err:
        raise ConfigError([f"(document): not a JSON document: {type(err).__name__}"]) from None
    try:
        config = Config.model_validate_json(text)
    except ValidationError as err:
        problems = []
        for e in err.errors(include_url=False):
            message = e["msg"].removeprefix("Value error, ")
            if e["type"] == "missing":
                problems.append(f"{_path(e['loc'][:-1])}: missing \"{e['loc'][-1]}\"")
            elif e["type"] == "extra_forbidden":
                problems.append(f"{_path(e['loc'])}: unknown field")
            else:
                problems.append(f"{_path(e['loc'])}: {message}")
        raise ConfigError(problems) from None
    problems = _cross_checks(config)
    if problems:
        raise ConfigError(problems)
    return config


def load_config(env: Mapping[str, str], app_root: Path) -> Config:
    """The configuration named by NVA_HA_CONFIG (JSON text) or NVA_HA_CONFIG_FILE (a path under the app root)."""
    text, path = env.get("NVA_HA_CONFIG"), env.get("NVA_HA_CONFIG_FILE")
    if bool(text) == bool(path):
        raise ConfigError(["settings: set exactly one of NVA_HA_CONFIG and NVA_HA_CONFIG_FILE"])
    if path:
        file = (app_root / path).resolve()
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as err:
            raise ConfigError([f"NVA_HA_CONFIG_FILE: cannot read {file}: {err.strerror}"]) from None
    assert text is not None
    return parse_config(text)
