"""Probe and role request headers, resolved once from the app settings they name; the values are secrets, never shown."""

from __future__ import annotations

from collections.abc import Mapping

from shared.domain.config_probe import resolve_header_settings, setting_name
from shared.errors import ConfigError


class Secrets:
    """The values of the app settings that headers name. Its repr and str never show a value."""

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self._values = dict(values or {})

    @classmethod
    def from_settings(cls, config: object, env: Mapping[str, str]) -> Secrets:
        """Resolve every header's setting; ConfigError naming the field and the setting (never a value) when one is unset."""
        values, problems = resolve_header_settings(config, env)
        if problems:
            raise ConfigError(problems)
        return cls(values)

    def headers(self, configured: Mapping[str, str]) -> dict[str, str]:
        """The request headers for configured `{"Name": "%<setting>%"}`; a setting not resolved is sent empty."""
        return {name: self._values.get(setting_name(ref), "") for name, ref in configured.items()}

    def values(self) -> list[str]:
        """The secret values themselves (for tests that prove none leaks)."""
        return list(self._values.values())

    def __repr__(self) -> str:
        return f"Secrets({sorted(self._values)})"

    __str__ = __repr__
