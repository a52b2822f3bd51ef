"""The probe schedule: NCRONTAB parsing, its shortest period, and the lease it implies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.control.context import Tuning
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


def test_the_one_second_schedule_scales_the_lease_and_the_executor_hand_off_to_it() -> None:
    """`*/1 * * * * *`: a 1 s lease renewed every 0.2 s, lease-path calls cut at 0.4 s (Tuning accepts it), and a
    queued change's token (whose lease is the same 1 s) is picked up well inside it: the queue listener polls an empty
    queue at most every host.json maxPollingInterval."""
    root = Path(__file__).resolve().parents[2]
    settings = read_settings({"NVA_HA_CONFIG_FILE": "nva-ha.example.json", "NVA_HA_PROBE_SCHEDULE": "*/1 * * * * *"}, root)
    assert (settings.schedule, settings.lease_seconds) == ("*/1 * * * * *", 1.0)
    tuning = Tuning(lease_seconds=settings.lease_seconds, renew_every_seconds=settings.lease_seconds / 5)
    assert (tuning.renew_every_seconds, tuning.store_timeout) == (0.2, 0.4)
    hours, minutes, seconds = json.loads((root / "host.json").read_text())["extensions"]["queues"]["maxPollingInterval"].split(":")
    polling = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    assert 2 * polling <= tuning.lease_seconds, f"the listener's {polling} s wait does not fit a 1 s token lease twice"
    with pytest.raises(ConfigError):  # what the floor guards: half a second could not keep a lease with these calls
        Tuning(lease_seconds=0.5, renew_every_seconds=0.1, store_timeout_seconds=0.4)
