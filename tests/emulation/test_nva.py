"""Simulated NVAs answer real TCP, HTTP and HTTPS probes on loopback, and switch between up, down, hang and 503."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
import requests

from emulation.harness import NvaProcess


def tcp_ok(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=1):
            return True
    except OSError:
        return False


def http_status(url: str) -> int | str:
    try:
        return requests.get(url, timeout=0.5, verify=False).status_code
    except requests.exceptions.Timeout:
        return "timeout"
    except requests.exceptions.ConnectionError:
        return "refused"


def test_modes(nva_factory: Callable[[], NvaProcess]) -> None:
    nva = nva_factory()
    http = f"http://{nva.address}:{nva.ports['http']}/health"
    https = f"https://{nva.address}:{nva.ports['https']}/health"
    assert nva.address.startswith("127.0.0.")
    assert tcp_ok(nva.address, nva.ports["tcp"])
    assert (http_status(http), http_status(https)) == (200, 200)

    nva.set_mode("http503")
    assert (http_status(http), http_status(https)) == (503, 503)

    nva.set_mode("down")
    assert not tcp_ok(nva.address, nva.ports["tcp"])
    assert http_status(http) == "refused"

    nva.set_mode("hang")
    assert http_status(http) == "timeout"

    nva.set_mode("up")
    assert http_status(http) == 200
    assert nva.status()["probes"]["http"] >= 3


def test_two_nvas_on_distinct_addresses(nva_factory: Callable[[], NvaProcess]) -> None:
    a, b = nva_factory(), nva_factory()
    assert a.address != b.address
    a.set_mode("down")
    assert http_status(f"http://{a.address}:{a.ports['http']}/") == "refused"
    assert http_status(f"http://{b.address}:{b.ports['http']}/") == 200


def test_bad_mode_is_refused(nva_factory: Callable[[], NvaProcess]) -> None:
    nva = nva_factory()
    with pytest.raises(requests.HTTPError):
        nva.set_mode("sideways")
    assert nva.status()["mode"] == "up"
