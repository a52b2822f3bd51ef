"""Client of the ARM emulator's control plane (/_emulator/…): seed, snapshot, request log, settings, faults, RBAC, locks."""

from __future__ import annotations

from typing import Any

import requests


class EmulatorControl:
    """Client of the emulator's control plane (/_emulator/…): seed, snapshot, request log, latency, faults, RBAC."""

    def __init__(self, arm_url: str, ca_path: str) -> None:
        self.base = arm_url.rstrip("/") + "/_emulator"
        self.ca_path = ca_path
        self.session = requests.Session()

    def _call(self, method: str, what: str, body: Any = None) -> Any:
        # verify per request: requests lets REQUESTS_CA_BUNDLE from the environment override Session.verify
        resp = self.session.request(method, f"{self.base}/{what}", json=body, timeout=30, verify=self.ca_path)
        if resp.status_code != 200:
            raise RuntimeError(f"emulator control {method} {what}: {resp.status_code} {resp.text}")
        return resp.json()

    def seed(self, resources: list[dict[str, Any]], subscriptions: list[str] | None = None) -> None:
        self._call("POST", "seed", {"resources": resources, "subscriptions": subscriptions or []})

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Every resource, by lower-cased id."""
        return {r["id"].lower(): r for r in self._call("GET", "snapshot")["resources"]}

    def requests(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "requests")["requests"])

    def clear_requests(self) -> None:
        self._call("DELETE", "requests")

    def settings(self, latency: dict[str, float] | None = None, retry_after: int | dict[str, int] | None = None,
                 page_size: int | None = None) -> dict[str, Any]:
        """retry_after: seconds for every write, or by resource type ({"networkInterfaces": 1, "default": 10})."""
        body: dict[str, Any] = {}
        if latency is not None:
            body["latency"] = latency
        if retry_after is not None:
            body["retryAfter"] = retry_after
        if page_size is not None:
            body["pageSize"] = page_size
        return dict(self._call("PUT", "settings", body))

    def fault(self, action: str, **match: Any) -> dict[str, Any]:
        return dict(self._call("POST", "faults", {"action": action, **match}))

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def feature(self, subscription: str, feature: str = "Microsoft.Network/AllowMoveIpConfigurations",
                state: str = "Registered") -> None:
        """A subscription feature's state, as the Features API answers it (emulation/arm/features.py)."""
        self._call("PUT", "features", {"subscription": subscription, "feature": feature, "state": state})

    def moves(self, leaves: list[str] | None = None) -> dict[str, Any]:
        """What an IP configuration move leaves behind (emulation/arm/moves.py), e.g. ["publicIPAddress"]; its count."""
        return dict(self._call("PUT", "moves", {"leaves": leaves or []}))

    def release(self) -> int:
        return int(self._call("POST", "release")["released"])

    def rbac(self, assignments: dict[str, list[dict[str, Any]]] | None) -> None:
        self._call("PUT", "rbac", {"assignments": assignments})

    def throttle(self, limits: dict[str, tuple[float, float]] | None = None, enabled: bool = True,
                 scope: str = "subscription", network: dict[str, float] | None = None) -> None:
        """ARM's buckets (limits by kind: size, refill/s) and Microsoft.Network's windows (reads, writes, window s)."""
        self._call("PUT", "throttle", {"limits": limits or {}, "enabled": enabled, "scope": scope, "network": network or {}})

    def updating(self, resource_id: str, seconds: float | None = None, answer: str = "429",
                 operation: str = "PutSubnetOperation") -> None:
        """Another actor updates a resource NIC writes reference: they get 429 at once, or ("async") fail later."""
        self._call("POST", "updating", {"id": resource_id, "seconds": seconds, "answer": answer, "operation": operation})

    def clear_updating(self) -> None:
        self._call("DELETE", "updating")

    def delete(self, resource_id: str) -> bool:
        """Someone deletes a resource behind the controller's back."""
        return bool(self._call("DELETE", "resources", {"id": resource_id})["removed"])

    def locks(self, scopes: list[str]) -> None:
        """ReadOnly management locks on these scopes (and below): writes there answer 409 ScopeLocked."""
        self._call("PUT", "locks", {"scopes": scopes})

    def token(self, principal: str) -> str:
        return str(self._call("POST", "tokens", {"principal": principal})["token"])

    def in_progress(self) -> int:
        return int(self._call("GET", "operations")["inProgress"])

    def hung(self) -> int:
        """Requests held right now by a `hang` fault."""
        return int(self._call("GET", "operations")["hung"])
