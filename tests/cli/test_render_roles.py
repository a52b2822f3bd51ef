"""The CLI shows each NVA's role beside its health and says plainly when the appliances and Azure disagree."""

from __future__ import annotations

from typing import Any

import pytest
from nva_failover_cli import render


def status(active: str, **roles: str | None) -> dict[str, Any]:
    return {"name": "hub-fw", "active": active, "epoch": 1, "phase": "steady", "paused": False, "readiness": None,
            "lastFailover": None, "nvas": [{"name": n, "healthy": True, "consecutiveFailures": 0, "consecutiveSuccesses": 3,
                                            "lastProbeAt": None, "lastError": None, "role": r} for n, r in roles.items()]}


@pytest.mark.parametrize(("roles", "word", "sentence"), [
    ({"fw_a": "active", "fw_b": "standby"}, "agree", "the appliances agree with Azure: fw_a claims active"),
    ({"fw_a": "standby", "fw_b": "active"}, "DISAGREE", "DISAGREE: the appliances elect fw_b, Azure has fw_a"),
    ({"fw_a": "active", "fw_b": "active"}, "SPLIT BRAIN", "SPLIT BRAIN: fw_a and fw_b all claim active"),
    ({"fw_a": "standby", "fw_b": "unknown"}, "no claim", "no appliance claims active (fw_b: role unknown)"),
])
def test_agreement_is_said_plainly(roles: dict[str, str], word: str, sentence: str) -> None:
    s = status("fw_a", **roles)
    said = render.agreement(s)
    assert said is not None and said[0] == word and said[1].startswith(sentence)
    text = render.status(s)
    assert f"appliances {said[1]}" in text and "APPLIANCE SAYS" in text
    assert word in render.clusters([s])


def test_without_role_probes_nothing_is_said() -> None:
    s = status("fw_a", fw_a=None, fw_b=None)
    assert render.agreement(s) is None and "appliances" not in render.status(s)
