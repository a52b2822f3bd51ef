"""Subscription features (Microsoft.Features): which are Registered in which subscription, readable as Azure answers.

`GET /subscriptions/{s}/providers/Microsoft.Features/providers/{namespace}/features/{name}?api-version=2021-07-01`
answers the feature with `properties.state` ("Registered", "NotRegistered", "Registering", …): the Features REST API,
https://learn.microsoft.com/rest/api/resources/features/get. A feature a subscription never registered is NotRegistered.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from .errors import ArmError, bad_request

API_VERSIONS = {"2021-07-01", "2015-12-01"}
READ_ACTION = "Microsoft.Features/providers/features/read"
ROUTE = (re.compile(r"^/subscriptions/(?P<sub>[^/]+)/providers/Microsoft\.Features/providers/(?P<ns>[^/]+)/features/"
                    r"(?P<feature>[^/]+)$", re.I), "feature")


class Features:
    """Feature states by subscription (lower-cased) and feature (`Namespace/Name`, lower-cased)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: dict[tuple[str, str], str] = {}

    def set(self, subscription: str, feature: str, state: str) -> None:
        with self._lock:
            self._states[(subscription.lower(), feature.lower())] = state

    def state(self, subscription: str, feature: str) -> str:
        with self._lock:
            return self._states.get((subscription.lower(), feature.lower()), "NotRegistered")

    def configure(self, body: dict[str, Any]) -> dict[str, Any]:
        """Control plane: `{"subscription": s, "feature": "Ns/Name", "state": "Registered"}` (state default Registered)."""
        self.set(str(body["subscription"]), str(body["feature"]), str(body.get("state", "Registered")))
        with self._lock:
            return {"features": [{"subscription": s, "feature": f, "state": v} for (s, f), v in sorted(self._states.items())]}


def check_version(version: str) -> None:
    if version not in API_VERSIONS:
        raise bad_request("InvalidApiVersionParameter", f"The api-version '{version}' is invalid. The supported versions are "
                          f"'{', '.join(sorted(API_VERSIONS))}'.")


def read(features: Features, params: dict[str, str], method: str) -> dict[str, Any]:
    if method != "GET":
        raise ArmError(405, "MethodNotAllowed", f"The requested resource does not support http method '{method}'.")
    name = f"{params['ns']}/{params['feature']}"
    return {
        "properties": {"state": features.state(params["sub"], name)},
        "id": f"/subscriptions/{params['sub']}/providers/Microsoft.Features/providers/{params['ns']}/features/{params['feature']}",
        "type": "Microsoft.Features/providers/features",
        "name": name,
    }
