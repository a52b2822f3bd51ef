"""The order of one change's writes: NIC detaches, route tables and the floating IP moves at once, then the attaches."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from typing import Any

from shared.domain.desired import Change
from shared.errors import StateConflict

Skip = Callable[[Change, str], None]  # a route table write given up, and why
Run = Callable[[Change, bool], None]  # write one change (quietly: not reported as a change of its own)
# The floating IP moves (shared.adapters.network_moves): given both NICs' changes, how to report and how to write one, they move
# and put right what the move did not carry; they answer the writes that must wait for the detaches, quiet or not.
Mover = Callable[[Sequence[Change], Callable[[Change], None], Run], list[tuple[Change, bool]]]


def reason(err: BaseException) -> str:
    return (str(err) or type(err).__name__).splitlines()[0][:300]


def apply_in_order(changes: Sequence[Change], write: Callable[[Change], Change | None], nic_pool: Executor,
                   table_pool: Executor, on_done: Callable[[Change], None], skip: Skip | None = None,
                   paired: frozenset[str] = frozenset(), mover: Mover | None = None) -> list[Change]:
    """Detaches (phase 0) and route tables in parallel, with the move of the NICs `paired` (lower-cased) left to
    `mover`; then the attaches (phase 1). With `skip`, a failed route table write is handed to it instead of failing."""
    done: list[Change] = []

    def report(result: Change) -> None:
        done.append(result)
        on_done(result)

    def run(change: Change, quiet: bool = False) -> None:
        try:
            result = write(change)
        except StateConflict:
            raise
        except Exception as err:  # the boundary of one route table write, when the failover may go on without it
            if skip is None or change.kind != "routeTable":
                raise
            skip(change, reason(err))
            return
        if result is not None and not quiet:
            report(result)

    rest = [c for c in changes if c.resource.lower() not in paired]
    first = [nic_pool.submit(run, c) for c in rest if c.phase == 0 and c.kind == "nic"]
    moving = nic_pool.submit(mover, [c for c in changes if c.resource.lower() in paired], report, run) \
        if mover is not None and paired else None
    tables = [table_pool.submit(run, c) for c in rest if c.kind == "routeTable"]
    errors: list[BaseException] = []
    waits: list[Future[Any]] = [*first, *([moving] if moving else [])]
    for waited in waits:
        if (e := waited.exception()) is not None:
            errors.append(e)
    later = moving.result() if moving is not None and not errors else []
    second = [] if errors else [nic_pool.submit(run, c) for c in rest if c.phase == 1 and c.kind == "nic"] + [
        nic_pool.submit(run, c, quiet) for c, quiet in later]
    for future in second + tables:
        if (e := future.exception()) is not None:
            errors.append(e)
    if errors:
        raise errors[0]
    return done
