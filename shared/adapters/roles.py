"""Asks each appliance for its HA role (contract §2 `role`), beside the health probe and inside its time."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace
from typing import Any

import requests

from shared.adapters.headers import Secrets
from shared.adapters.probe_pools import ClusterPools
from shared.adapters.probes import _reason, http_get
from shared.domain.config import Nva, Role
from shared.domain.observations import Prober, ProbeResult, RoleAnswer

_MISSING = object()


def pointer(document: Any, path: str) -> Any:
    """The value at a JSON pointer (RFC 6901), or _MISSING."""
    if path == "":
        return document
    node = document
    for raw in path[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return _MISSING
    return node


def classify(role: Role, status: int, body: str) -> RoleAnswer:
    """Pure: an http(s) role answer is "active" when every condition of activeWhen holds (default: a 2xx), else "standby"."""
    when = role.active_when
    if when is None:
        ok = 200 <= status < 300
        return RoleAnswer("active" if ok else "standby", f"HTTP {status}" + ("" if ok else " (active answers 2xx)"))
    if when.status is not None and status not in when.status:
        return RoleAnswer("standby", f"HTTP {status}, not {list(when.status)}")
    if when.body_contains is not None and when.body_contains not in body:
        return RoleAnswer("standby", f"HTTP {status}, body without {when.body_contains!r}")
    if when.json_equals is not None:
        try:
            value = pointer(json.loads(body), when.json_equals.pointer)
        except ValueError:
            return RoleAnswer("standby", f"HTTP {status}, body is not JSON")
        text = value if isinstance(value, str) else None if value is _MISSING else json.dumps(value)
        if text != when.json_equals.equals:
            found = "absent" if value is _MISSING else repr(text)[:60]
            return RoleAnswer("standby", f"HTTP {status}, {when.json_equals.pointer} is {found}, not {when.json_equals.equals!r}")
    return RoleAnswer("active", f"HTTP {status}, activeWhen holds")


class RoleProber:
    """Real role probes: a TCP connect (active when it accepts: FortiGate's probe-response) or an HTTP(S) GET classified by
    activeWhen. No answer within the role's time is "unknown"; a refused connection on a tcp role is "standby"."""

    def __init__(self, secrets: Secrets | None = None, attempts: int = 2) -> None:
        self._pools = ClusterPools()  # clusters apart: one cluster's unanswered role probes never hold another's threads
        self._session = requests.Session()
        self._session.trust_env = False
        self.secrets = secrets or Secrets()
        self.attempts = attempts

    def ask(self, role: Role, timeout: float) -> RoleAnswer:
        """Up to `attempts` tries within `timeout`: a lost answer is asked again, a definite one is not."""
        deadline = time.monotonic() + timeout
        answer = RoleAnswer("unknown", "not asked")
        for _ in range(self.attempts):
            left = deadline - time.monotonic()
            if left <= 0.01:
                break
            answer = self._try(role, min(left, timeout / self.attempts))
            if answer.role != "unknown":
                return answer
        return answer

    def _try(self, role: Role, timeout: float) -> RoleAnswer:
        try:
            if role.protocol == "tcp":
                with socket.create_connection((role.address, role.port), timeout=timeout):
                    return RoleAnswer("active", f"tcp {role.port} accepts")
            status, body = http_get(self._session, role, self.secrets, timeout, True)
            return classify(role, status, body)
        except ConnectionRefusedError:
            if role.protocol == "tcp":
                return RoleAnswer("standby", f"tcp {role.port} refused (only the active member accepts)")
            return RoleAnswer("unknown", "connection refused")
        except (TimeoutError, requests.Timeout):
            return RoleAnswer("unknown", f"no answer within {timeout:g}s")
        except (OSError, requests.RequestException) as err:
            if role.protocol != "tcp" and "Connection refused" in str(err):
                return RoleAnswer("unknown", "connection refused")
            return RoleAnswer("unknown", _reason(err))

    def submit(self, nvas: Sequence[Nva], timeout: float, cluster: str = "") -> dict[str, Future[RoleAnswer]]:
        """Start asking every NVA that has a role, each within its own timeout (at most `timeout`), on the cluster's pool."""
        asked = [n for n in nvas if n.role is not None]
        pool = self._pools.pool(cluster, len(asked))
        return {n.name: pool.submit(self.ask, n.role, min(n.role.timeout_seconds or timeout, timeout))
                for n in asked if n.role is not None}


class RoleAwareProber:
    """A Prober that asks the roles beside the health probes, in the same cycle and time, and puts each answer on its result."""

    def __init__(self, health: Prober, roles: RoleProber) -> None:
        self.health = health
        self.roles = roles

    def probe_all(self, nvas: Sequence[Nva], timeout: float, cluster: str = "") -> dict[str, ProbeResult]:
        asked = self.roles.submit(nvas, timeout, cluster)
        started = time.monotonic()
        results = self.health.probe_all(nvas, timeout, cluster)
        for name, future in asked.items():
            try:
                answer = future.result(max(0.0, started + timeout + 0.5 - time.monotonic()))
            except FutureTimeout:
                answer = RoleAnswer("unknown", f"no answer within {timeout:g}s")
            if name in results:
                results[name] = replace(results[name], role=answer)
        return results
