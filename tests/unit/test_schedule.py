"""The probe schedule: NCRONTAB parsing, its shortest period, and the lease it implies."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.domain.schedule import Schedule, lease_seconds, shortest_gap
from shared.edge.settings import read_settings
from shared.errors import ConfigError


@pytest.mark.parametrize(("expression", "gap", "lease"), [
    ("*/5 * * * * *", 5, 2.5),        # the shipped schedule
    ("*/10 * * * * *", 10, 5.0),
    ("* * * * * *", 1, 1.0),          # floor: a renewal every 0.2 s is as often as is reasonable
    ("0,30 * * * * *", 30, 15.0),
    ("0,1 * * * * *", 1, 1.0),        # irregular: the shortest gap counts
    ("0 * * * * *", 60, 30.0),        # ceiling: a crashed change never waits more than 30 s
    ("0 */5 * * * *", 300, 30.0),
])
def test_the_lease_is_half_the_shortest_period(expression: str, gap: float, lease: float) -> None:
    schedule = Schedule(expression)
    assert shortest_gap(schedule) == gap
    assert lease_seconds(schedule) == lease


@pytest.mark.parametrize(("expression", "problem"), [
    ("*/5 * * * *", "six fields"),
    ("*/0 * * * * *", "bad step"),
    ("61 * * * * *", "outside 0-59"),
    ("x * * * * *", "invalid literal"),
])
def test_a_bad_schedule_is_rejected_naming_the_setting(expression: str, problem: str) -> None:
    env = {"NVA_HA_CONFIG_FILE": "nva-ha.example.json", "NVA_HA_PROBE_SCHEDULE": expression}
    with pytest.raises(ConfigError) as err:
        read_settings(env, Path(__file__).resolve().parents[2])
    assert str(err.value).startswith("NVA_HA_PROBE_SCHEDULE: ") and problem in str(err.value)


def test_the_default_schedule_gives_the_default_lease() -> None:
    settings = read_settings({"NVA_HA_CONFIG_FILE": "nva-ha.example.json"}, Path(__file__).resolve().parents[2])
    assert (settings.schedule, settings.lease_seconds) == ("*/5 * * * * *", 2.5)
