"""A small client of the app's HTTP API (contract §4): function key, JSON in and out, failures as three error kinds."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import requests


class CliError(Exception):
    """A failure the tool reports on stderr and turns into its exit code."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ApiError(CliError):
    """The app answered with an error (contract: {"error": {"code", "message"}}), or with something that is not JSON."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.detail = message
        self.exit_code = 4 if status == 409 else 1  # 409: refused for safety (TargetUnhealthy, NoHealthyTarget, …)

    def as_json(self) -> dict[str, Any]:
        return {"error": {"status": self.status, "code": self.code, "message": self.detail}}


class Unauthorized(ApiError):
    """401/403: the function key is missing or wrong."""

    def __init__(self, status: int) -> None:
        super().__init__(status, "Unauthorized", "the app refused the function key (check --key / NVA_FAILOVER_KEY)")
        self.exit_code = 5


class Unreachable(CliError):
    """No HTTP answer at all: refused, timed out, name not resolved, TLS failed."""

    exit_code = 3


class UsageError(CliError):
    exit_code = 2


def base_url(url: str | None) -> str:
    """The app's root URL, accepting it with or without the /api prefix."""
    if not url:
        raise UsageError("no app URL: pass --url or set NVA_FAILOVER_URL (e.g. https://<app>.azurewebsites.net)")
    url = url.strip().rstrip("/")
    if not url.startswith(("https://", "http://")):
        raise UsageError(f"--url {url!r}: must start with https:// (or http:// for a local app)")
    return url.removesuffix("/api")


class Api:
    """Calls the API of one function app with one function key."""

    def __init__(self, url: str | None, key: str | None, timeout: float | None = None) -> None:
        self.url = base_url(url)
        if not key:
            raise UsageError("no function key: pass --key or set NVA_FAILOVER_KEY")
        self.timeout = timeout
        self._session = requests.Session()
        self._session.headers.update({"x-functions-key": key, "Accept": "application/json",
                                      "User-Agent": "nva-failover-cli"})

    def _call(self, method: str, route: str, body: dict[str, Any] | None = None, wait: float = 30.0,
              params: dict[str, Any] | None = None) -> dict[str, Any]:
        """One request; `wait` is how long this operation may take unless --timeout says otherwise."""
        where = f"{self.url}/api/{route}"
        timeout = self.timeout or wait
        try:
            resp = self._session.request(method, where, params=params, timeout=timeout,
                                         data=None if body is None else json.dumps(body),
                                         headers={"Content-Type": "application/json"} if body is not None else None)
        except requests.exceptions.Timeout:
            raise Unreachable(f"{method} {where}: no answer within {timeout:g} s") from None
        except requests.exceptions.SSLError as err:
            raise Unreachable(f"{method} {where}: TLS failed: {_first_line(err)}") from None
        except requests.exceptions.ConnectionError as err:
            raise Unreachable(f"{method} {where}: cannot connect: {_first_line(err)}") from None
        if resp.status_code in {401, 403}:
            raise Unauthorized(resp.status_code)
        try:
            answer = resp.json()
        except ValueError:
            answer = None
        if resp.status_code not in (200, 202):  # 202: a failover still running at the app's wait limit
            error = answer.get("error") if isinstance(answer, dict) else None
            if isinstance(error, dict) and "code" in error:
                raise ApiError(resp.status_code, str(error["code"]), str(error.get("message", "")))
            raise ApiError(resp.status_code, "HttpError", f"{method} {where}: {resp.reason or ''} {resp.text[:200]}".strip())
        if not isinstance(answer, dict):
            raise ApiError(resp.status_code, "NotJson", f"{method} {where} answered 200 without a JSON object")
        return answer

    @staticmethod
    def _path(cluster: str) -> str:
        return "clusters/" + quote(cluster, safe="")

    def clusters(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "clusters")["clusters"])

    def status(self, cluster: str) -> dict[str, Any]:
        return self._call("GET", self._path(cluster))

    def history(self, cluster: str, limit: int) -> dict[str, Any]:
        return self._call("GET", self._path(cluster) + "/history", params={"limit": limit})

    def check(self, cluster: str) -> dict[str, Any]:
        return self._call("GET", self._path(cluster) + "/check", wait=120.0)

    def failover(self, cluster: str, body: dict[str, Any]) -> dict[str, Any]:
        # a failover waits for Azure: two NIC writes and the route tables, then the verifying reads
        return self._call("POST", self._path(cluster) + "/failover", body, wait=600.0)

    def pause(self, cluster: str, reason: str | None) -> dict[str, Any]:
        return self._call("POST", self._path(cluster) + "/pause", {"reason": reason} if reason else {})

    def resume(self, cluster: str) -> dict[str, Any]:
        return self._call("POST", self._path(cluster) + "/resume", {})


def _first_line(err: Exception) -> str:
    text = str(err)
    # requests nests the reason deep inside: keep the most specific part
    for marker in ("Connection refused", "Name or service not known", "timed out", "No route to host",
                   "certificate verify failed", "Temporary failure in name resolution"):
        if marker in text:
            return marker
    return text.splitlines()[0][:200] if text else type(err).__name__
