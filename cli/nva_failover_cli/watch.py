"""`watch`: poll the status API and show it live, with the events seen between two polls."""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

from . import render
from .client import Api, ApiError, Unauthorized, Unreachable

Status = Mapping[str, Any]
Event = dict[str, Any]
CLEAR = "\x1b[H\x1b[2J"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def changes(before: Status, after: Status) -> list[Event]:
    """What happened to one cluster between two polls, named like the app's own events (contract §5)."""
    name, out = after.get("name"), []

    def event(kind: str, **fields: Any) -> None:
        out.append({"event": kind, "cluster": name, **fields})

    if before.get("phase") != "failing_over" and after.get("phase") == "failing_over":
        event("FailoverStarted", epoch=after.get("epoch"), active=after.get("active"))
    last, was = after.get("lastFailover") or {}, before.get("lastFailover") or {}
    if last and (last.get("epoch"), last.get("completedAt")) != (was.get("epoch"), was.get("completedAt")):
        event("FailoverCompleted", epoch=last.get("epoch"), trigger=last.get("trigger"), durationMs=last.get("durationMs"),
              reason=last.get("reason"), **{"from": last.get("from"), "to": last.get("to")})
    elif before.get("active") != after.get("active"):
        event("ActiveChanged", **{"from": before.get("active"), "to": after.get("active")})
    old = {n.get("name"): n for n in before.get("nvas") or []}
    for nva in after.get("nvas") or []:
        prior = old.get(nva.get("name"))
        if prior is not None and prior.get("healthy") != nva.get("healthy"):
            event("NvaHealthChanged", nva=nva.get("name"), healthy=nva.get("healthy"), error=nva.get("lastError"))
        if prior is not None and prior.get("role") != nva.get("role"):  # the appliance's own election (role probes)
            event("RoleChanged", nva=nva.get("name"), role=nva.get("role"), was=prior.get("role"))
    if bool(before.get("paused")) != bool(after.get("paused")):
        event("ClusterPaused" if after.get("paused") else "ClusterResumed")
    ready, was_ready = after.get("readiness") or {}, before.get("readiness") or {}
    if ready and (ready.get("ready"), ready.get("failing")) != (was_ready.get("ready"), was_ready.get("failing")):
        event("ReadinessChanged", ready=ready.get("ready"), failing=ready.get("failing") or [])
    return out


def describe(e: Event) -> str:
    fields = " ".join(f"{k}={v}" for k, v in e.items() if k not in {"event", "cluster", "at"} and v not in (None, "", []))
    return f"{e.get('at', '')[11:19]}  {e.get('cluster') or '-':<14} {e['event']:<18} {fields}".rstrip()


class Watcher:
    """One poll at a time; keeps the last statuses and the recent events."""

    def __init__(self, api: Api, cluster: str | None, out: TextIO, as_json: bool, live: bool) -> None:
        self.api, self.cluster, self.out, self.as_json, self.live = api, cluster, out, as_json, live
        self.last: dict[str, Status] = {}
        self.recent: deque[Event] = deque(maxlen=15)
        self.error: str | None = None

    def _fetch(self) -> list[Status]:
        if self.cluster:
            return [self.api.status(self.cluster)]
        return list(self.api.clusters())

    def poll(self) -> int:
        """One refresh; answers the exit code it would end with (0, or the failure's)."""
        at, code, seen = _now(), 0, []
        try:
            statuses = self._fetch()
        except Unauthorized:
            raise
        except (Unreachable, ApiError) as err:
            if self.error != err.message:
                seen.append({"event": "ApiUnreachable" if isinstance(err, Unreachable) else "ApiError", "cluster": self.cluster,
                             "error": err.message})
            self.error, code, statuses = err.message, err.exit_code, []
        else:
            if self.error is not None:
                seen.append({"event": "ApiAnswering", "cluster": self.cluster})
            self.error = None
        first = not self.last
        for status in statuses:
            prior = self.last.get(str(status.get("name")))
            if prior is not None:
                seen.extend(changes(prior, status))
            self.last[str(status.get("name"))] = status
        for e in seen:
            e["at"] = at
            self.recent.append(e)
        self._show(at, statuses, seen, first)
        return code

    def _show(self, at: str, statuses: list[Status], seen: list[Event], first: bool) -> None:
        if self.as_json:
            if statuses:
                self.out.write(json.dumps({"at": at, "clusters": statuses}) + "\n")
            for e in seen:
                self.out.write(json.dumps(e) + "\n")
        elif self.live:
            body = render.clusters(list(self.last.values())) if self.last else "(no answer yet)"
            problem = f"\n\n!! {self.error}" if self.error else ""
            events = "\n".join(describe(e) for e in self.recent) or "(none yet)"
            self.out.write(f"{CLEAR}nva-failover watch  {at}  {self.api.url}{problem}\n\n{body}\n\nEVENTS\n{events}\n")
        else:  # a log: the status once, then one line per event
            if first and statuses:
                self.out.write(render.clusters(statuses) + "\n")
            for e in seen:
                self.out.write(describe(e) + "\n")
        self.out.flush()


def watch(api: Api, cluster: str | None, interval: float, count: int, out: TextIO, as_json: bool, live: bool,
          sleep: Callable[[float], None] = time.sleep) -> int:
    """Poll until `count` polls are done (0: until interrupted); the exit code of the last poll."""
    watcher = Watcher(api, cluster, out, as_json, live)
    polls = 0
    try:
        while True:
            code = watcher.poll()
            polls += 1
            if count and polls >= count:
                return code
            sleep(interval)
    except KeyboardInterrupt:
        return 0
