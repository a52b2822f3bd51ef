"""Configuration of how an NVA is asked things: its health `probe` and its HA `role` (contract §2, rev. 3)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

HOSTNAME = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")
HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}$")
SETTING_REF = re.compile(r"^%([A-Za-z_][A-Za-z0-9_.:-]{0,255})%$")
RESERVED_HEADERS = {"host", "content-length", "connection", "transfer-encoding"}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def setting_name(reference: str) -> str:
    """The app setting a header value names: `%<name>%` -> `<name>`."""
    match = SETTING_REF.match(reference)
    assert match, reference
    return match.group(1)


class _Endpoint(_Model):
    """Where and how to ask: a TCP connect, or an HTTP(S) GET of `path` with `headers` whose values name app settings."""

    protocol: Literal["tcp", "http", "https"]
    address: str
    port: Annotated[int, Field(ge=1, le=65535)]
    path: str = "/"
    headers: dict[str, str] = Field(default_factory=dict)

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            if not HOSTNAME.match(value):
                raise ValueError(f"{value!r} is neither an IP address nor a host name") from None
        return value

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/") or any(c.isspace() for c in value):
            raise ValueError("must start with / and contain no white space")
        return value

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, ref in value.items():
            if not HEADER_NAME.match(name) or name.lower() in RESERVED_HEADERS:
                raise ValueError(f"{name!r} is not a header a probe may send")
            if not SETTING_REF.match(ref):
                # the message never repeats the value: it may be the very secret that belongs in a setting
                raise ValueError(f"{name!r} must name an app setting as %<setting name>% (the value itself belongs in the "
                                 "setting or a Key Vault reference, never in the configuration)")
        return value

    @model_validator(mode="after")
    def _tcp(self) -> _Endpoint:
        if self.protocol == "tcp" and self.headers:
            raise ValueError("headers apply to http and https only")
        return self

    def settings(self) -> set[str]:
        """The app settings its headers name."""
        return {setting_name(ref) for ref in self.headers.values()}


class Probe(_Endpoint):
    """How an NVA's health is probed: a TCP connect, or an HTTP(S) GET expecting given statuses (and body text)."""

    expect_status: tuple[Annotated[int, Field(ge=100, le=599)], ...] | None = Field(default=None, alias="expectStatus")
    expect_body: Annotated[str, Field(min_length=1, max_length=1024)] | None = Field(default=None, alias="expectBody")

    @field_validator("expect_status")
    @classmethod
    def _statuses(cls, value: tuple[int, ...] | None) -> tuple[int, ...] | None:
        if value is not None and not value:
            raise ValueError("must list at least one status (omit it to accept any 2xx or 3xx)")
        return value

    @model_validator(mode="after")
    def _body(self) -> Probe:
        if self.protocol == "tcp" and self.expect_body is not None:
            raise ValueError("expectBody applies to http and https only")
        return self

    def accepts(self, status: int) -> bool:
        return status in self.expect_status if self.expect_status else 200 <= status < 400


class JsonEquals(_Model):
    """The JSON value at `pointer` (RFC 6901) equals `equals` (a string, or the JSON text of a number or boolean)."""

    pointer: Annotated[str, Field(max_length=512)]
    equals: Annotated[str, Field(max_length=1024)]

    @field_validator("pointer")
    @classmethod
    def _pointer(cls, value: str) -> str:
        if value and not value.startswith("/"):
            raise ValueError("must be a JSON pointer: empty or starting with /, e.g. /ha/state")
        return value


class ActiveWhen(_Model):
    """When an http(s) role answer means "active": every condition given holds."""

    status: tuple[Annotated[int, Field(ge=100, le=599)], ...] | None = None
    body_contains: Annotated[str, Field(min_length=1, max_length=1024)] | None = Field(default=None, alias="bodyContains")
    json_equals: JsonEquals | None = Field(default=None, alias="json")

    @model_validator(mode="after")
    def _some(self) -> ActiveWhen:
        if self.status is not None and not self.status:
            raise ValueError("status: must list at least one status")
        if self.status is None and self.body_contains is None and self.json_equals is None:
            raise ValueError("give at least one of status, bodyContains and json")
        return self


class Role(_Endpoint):
    """How to ask the appliance whether it is the active member of its own HA cluster (FGCP, PAN-OS HA, ClusterXL, …)."""

    active_when: ActiveWhen | None = Field(default=None, alias="activeWhen")
    timeout_seconds: Annotated[float, Field(gt=0, le=60)] | None = Field(default=None, alias="timeoutSeconds")

    @field_validator("timeout_seconds", mode="before")
    @classmethod
    def _number(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("must be a number")
        return float(value) if isinstance(value, int) else value

    @model_validator(mode="after")
    def _tcp_accepts(self) -> Role:
        if self.protocol == "tcp" and self.active_when is not None:
            raise ValueError("activeWhen applies to http and https; a tcp role is active when the port accepts")
        return self


def role_checks(nvas: Any, decider: str, timeout: float, at: str) -> list[str]:
    """Rules across an NVA's role and the cluster's policy: `appliance` needs a role on every NVA, inside the probe timeout."""
    problems = []
    for n, nva in enumerate(nvas):
        if nva.role is None:
            if decider == "appliance":
                problems.append(f"{at}.nvas[{n}].role: missing: policy.decider \"appliance\" needs a role on every NVA")
        elif nva.role.timeout_seconds is not None and nva.role.timeout_seconds > timeout:
            problems.append(f"{at}.nvas[{n}].role.timeoutSeconds: {nva.role.timeout_seconds:g} is above policy.probeTimeoutSeconds "
                            f"({timeout:g}): a role probe runs inside the probe's time")
    return problems


def header_settings(config: Any) -> dict[str, str]:
    """Every app setting a probe or role header names -> the field naming it (clusters[0].nvas[1].role.headers.X)."""
    out: dict[str, str] = {}
    for c, cluster in enumerate(config.clusters):
        for n, nva in enumerate(cluster.nvas):
            for kind, endpoint in (("probe", nva.probe), ("role", nva.role)):
                for header, ref in (endpoint.headers.items() if endpoint is not None else ()):
                    out.setdefault(setting_name(ref), f"clusters[{c}].nvas[{n}].{kind}.headers.{header}")
    return out


def resolve_header_settings(config: Any, env: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """The values of the settings the headers name, and a problem (naming the field and setting, never a value) per missing one."""
    values, problems = {}, []
    for name, field in sorted(header_settings(config).items(), key=lambda kv: kv[1]):
        value = env.get(name)
        if not value:
            problems.append(f"{field}: the app setting {name} it names is not set (or empty)")
        else:
            values[name] = value
    return values, problems
