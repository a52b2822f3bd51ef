"""Configuration of what floats and what is owned: floatingIps and routeFilter (contract §2), and their cross-checks."""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Sequence
from typing import Annotated, Any, Protocol

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

_SEG = r"[^/]+"
PIP_ID = re.compile(rf"^/subscriptions/{_SEG}/resourceGroups/{_SEG}/providers/Microsoft\.Network/publicIPAddresses/{_SEG}$", re.I)
ROUTE_ID = re.compile(
    rf"^/subscriptions/{_SEG}/resourceGroups/{_SEG}/providers/Microsoft\.Network/routeTables/{_SEG}/routes/{_SEG}$", re.I)
IPCONFIG_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?$")
SERVICE_TAG = re.compile(r"^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z0-9]+)*$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class FloatingIp(_Model):
    """A secondary IP configuration (static private IP, optional public IP) that lives on the active NVA's NIC."""

    name: str
    interface: str
    private_ip: str = Field(alias="privateIp")
    public_ip: str | None = Field(default=None, alias="publicIp")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not IPCONFIG_NAME.match(value):
            raise ValueError(f"{json.dumps(value)} is not an IP configuration name (1-80 of letters, digits, _ . -)")
        return value

    @field_validator("private_ip")
    @classmethod
    def _ip(cls, value: str) -> str:
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            raise ValueError(f"{json.dumps(value)} is not an IP address") from None

    @field_validator("public_ip")
    @classmethod
    def _pip(cls, value: str | None) -> str | None:
        if value is not None and not PIP_ID.match(value):
            raise ValueError("is not the resource id of a public IP address")
        return value


def _filter_entry(value: str) -> str:
    """A routeFilter entry: a CIDR prefix (IPv4 or IPv6, no host bits) or a service tag name."""
    if "/" in value or ":" in value or value[:1].isdigit():
        try:
            ipaddress.ip_network(value, strict=True)
        except ValueError as err:
            hint = " (host bits set)" if "host bits" in str(err) else ""
            raise ValueError(f"{json.dumps(value)} is not a prefix{hint}") from None
        if "/" not in value:
            raise ValueError(f"{json.dumps(value)} is not a prefix (give its length, e.g. {value}/32)")
        return value
    if not SERVICE_TAG.match(value):
        raise ValueError(f"{json.dumps(value)} is neither a prefix nor a service tag")
    return value


def _route_id(value: str) -> str:
    if not ROUTE_ID.match(value):
        raise ValueError(f"{json.dumps(value)} is not the resource id of a route (…/routeTables/<table>/routes/<route>)")
    return value


FilterEntry = Annotated[str, AfterValidator(_filter_entry)]


class RouteFilter(_Model):
    """Narrows which routes a cluster owns: by prefix containment or service tag, and by route id."""

    include: tuple[FilterEntry, ...] | None = None
    exclude: tuple[FilterEntry, ...] = ()
    exclude_routes: tuple[Annotated[str, AfterValidator(_route_id)], ...] = Field(default=(), alias="excludeRoutes")


class ClusterShape(Protocol):
    """What floating_checks reads of a cluster (shared.domain.config.Cluster), named here so that this module imports none of it."""

    @property
    def nvas(self) -> Sequence[Any]: ...

    @property
    def public_ips(self) -> Sequence[Any]: ...

    @property
    def floating_ips(self) -> Sequence[FloatingIp]: ...


def floating_checks(cluster: ClusterShape, at: str, legs: set[str]) -> list[str]:
    """floatingIps: known legs, unique names and addresses, never a leg's own IP configuration, public IPs named once."""
    problems: list[str] = []
    names: dict[str, int] = {}
    addresses: dict[ipaddress.IPv4Address | ipaddress.IPv6Address, int] = {}
    leg_configs = {(nva.nic_id(leg).lower(), ipc.rsplit("/", 1)[-1].lower()): f"nvas[{n}].interfaces.{leg}"
                   for n, nva in enumerate(cluster.nvas) for leg, ipc in nva.interfaces.items()}
    named = {p.id.lower(): f"publicIps[{i}]" for i, p in enumerate(cluster.public_ips)}
    for f, fip in enumerate(cluster.floating_ips):
        here = f"{at}.floatingIps[{f}]"
        if fip.interface not in legs:
            problems.append(f"{here}.interface: {fip.interface!r} is not an interface of the NVAs ({sorted(legs)})")
        else:
            for nva in cluster.nvas:
                owner = leg_configs.get((nva.nic_id(fip.interface).lower(), fip.name.lower()))
                if owner is not None:
                    problems.append(f"{here}.name: {fip.name!r} is the IP configuration of {owner}; a floating IP must be "
                                    "a secondary IP configuration of its own")
                    break
        first = names.setdefault(fip.name.lower(), f)
        if first != f:
            problems.append(f"{here}.name: {fip.name!r} is floatingIps[{first}] already")
        address = ipaddress.ip_address(fip.private_ip)
        first = addresses.setdefault(address, f)
        if first != f:
            problems.append(f"{here}.privateIp: {fip.private_ip} is floatingIps[{first}] already")
        if fip.public_ip is not None:
            key = fip.public_ip.lower()
            if key in named:
                problems.append(f"{here}.publicIp: already named by {named[key]} (a public IP is named once)")
            named.setdefault(key, f"floatingIps[{f}]")
    return problems
