"""The local Functions host stand-in: routing, methods and the function key, as Azure's host answers them."""

from __future__ import annotations

import pytest
import requests

from emulation.functions_host import serve
from tests.functions.registered import functions


def test_routes_methods_and_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NVA_HA_CONFIG_FILE", raising=False)
    monkeypatch.setenv("NVA_HA_CONFIG", '{"clusters": []}')  # rejected: the API answers 503 ConfigInvalid, no storage needed
    with serve(functions(), "k3y") as host:
        def get(path: str, **kw: object) -> requests.Response:
            return requests.get(f"{host.url}{path}", timeout=10, **kw)  # type: ignore[arg-type]

        assert get("/api/clusters").status_code == 401
        assert get("/api/clusters", headers={"x-functions-key": "wrong"}).status_code == 401
        answer = get("/api/clusters", headers={"x-functions-key": "k3y"})
        assert answer.status_code == 503 and answer.headers["Content-Type"] == "application/json; charset=utf-8"
        assert answer.json()["error"]["code"] == "ConfigInvalid"
        assert get("/api/clusters?code=k3y").status_code == 503
        assert get("/api/nothing-here?code=k3y").status_code == 404
        assert requests.delete(f"{host.url}/api/clusters?code=k3y", timeout=10).status_code == 405
        page = get("/api/console?code=k3y")
        assert page.status_code == 200 and page.headers["Content-Type"] == "text/html; charset=utf-8"
        assert "script-src 'sha256-" in page.headers["Content-Security-Policy"]
        assert [c[2] for c in host.calls] == [401, 401, 503, 503, 404, 405, 200]
