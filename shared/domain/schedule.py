"""The probe timer's schedule: NCRONTAB (six fields, as the Functions host reads it), its firings, and the lease it implies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

RANGES = ((0, 59), (0, 59), (0, 23), (1, 31), (1, 12), (0, 6))


def _field(spec: str, low: int, high: int) -> set[int]:
    values: set[int] = set()
    for part in spec.split(","):
        body, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if step < 1:
            raise ValueError(f"bad step in {spec!r}")
        if body == "*":
            start, end = low, high
        elif "-" in body:
            start, end = (int(x) for x in body.split("-", 1))
        else:
            start = end = int(body)
            if step_text:
                end = high
        if not (low <= start <= end <= high):
            raise ValueError(f"{spec!r} is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return values


class Schedule:
    """A parsed NCRONTAB expression; next_after() gives the next firing time."""

    def __init__(self, expression: str) -> None:
        fields = expression.split()
        if len(fields) != 6:
            raise ValueError(f"NCRONTAB needs six fields (second minute hour day month weekday), got {expression!r}")
        self.expression = expression
        self.seconds, self.minutes, self.hours, self.days, self.months, self.weekdays = (
            _field(f, lo, hi) for f, (lo, hi) in zip(fields, RANGES, strict=True))

    def matches(self, t: datetime) -> bool:
        return (t.second in self.seconds and t.minute in self.minutes and t.hour in self.hours and t.day in self.days
                and t.month in self.months and (t.isoweekday() % 7) in self.weekdays)

    def next_after(self, t: datetime) -> datetime:
        candidate = t.replace(microsecond=0) + timedelta(seconds=1)
        for _ in range(366 * 86400):
            if self.matches(candidate):
                return candidate
            candidate += timedelta(seconds=1)
        raise ValueError(f"{self.expression!r} never fires within a year")


# A fixed Monday midnight: the gaps between firings are measured from here, so the answer never depends on the clock.
_REFERENCE = datetime(2026, 1, 5, tzinfo=UTC)


def shortest_gap(schedule: Schedule, firings: int = 48) -> float:
    """The shortest time between two consecutive firings among the first `firings` after a fixed reference, in seconds."""
    t = schedule.next_after(_REFERENCE)
    gaps = []
    for _ in range(firings):
        n = schedule.next_after(t)
        gaps.append((n - t).total_seconds())
        t = n
    return min(gaps)


def lease_seconds(schedule: Schedule) -> float:
    """The lease of a change in flight: half the schedule's shortest period (2.5 s at every 5 s), between 1 s and 30 s.

    A live actor renews it five times per lease, so it keeps it through a slow write to the state table; a crashed
    actor's lease has lapsed within half a period, so the first scheduled run after the crash, which waits out a lease
    that is not renewed (lease.outlast), resumes the change before the schedule fires again.
    """
    return min(max(shortest_gap(schedule) / 2, 1.0), 30.0)
