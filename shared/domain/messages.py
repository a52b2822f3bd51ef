"""Pure: the message that hands a locked change to the executor, the port it is sent through, and Azure's queue-name rule."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Literal, Protocol

from shared.domain import bounded_json

DEFAULT_QUEUE = "nva-ha-changes"
MAX_MESSAGE = 64 * 1024  # what an Azure Storage queue message can hold
TOKEN_PREFIX = "queued:"  # a journal's lease owner while its change waits on the queue for an executor
Kind = Literal["failover", "repair", "reconcile"]


@dataclass(frozen=True)
class Dispatch:
    """One change for the executor: the cluster, the journal it carries out (kind, epoch) and the token that locked it."""

    cluster: str
    kind: Kind
    epoch: int
    token: str
    resumed: bool = False

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def parse(cls, raw: bytes | str) -> Dispatch:
        """A message as the queue delivers it; ValueError naming what is wrong."""
        try:
            data = bounded_json.loads(raw, max_bytes=MAX_MESSAGE)
        except ValueError as err:
            raise ValueError(f"not JSON: {err}") from None
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        types = {"cluster": str, "kind": str, "epoch": int, "token": str, "resumed": bool}
        for name, kind in types.items():
            if name not in data and name != "resumed":
                raise ValueError(f"{name}: missing")
            if name in data and not isinstance(data[name], kind):
                raise ValueError(f"{name}: must be {'a string' if kind is str else 'an integer' if kind is int else 'true or false'}")
        if data["kind"] not in ("failover", "repair", "reconcile"):
            raise ValueError(f"kind: {data['kind']!r} is not failover, repair or reconcile")
        unknown = set(data) - set(types)
        if unknown:
            raise ValueError(f"unknown fields: {', '.join(sorted(unknown))}")
        return cls(**data)


class Dispatcher(Protocol):
    """Where the timer and the HTTP API send changes they have locked."""

    def dispatch(self, message: Dispatch) -> None:
        """Enqueue the message; TransientError / PermanentError when it could not be."""


def valid_queue_name(name: str) -> bool:
    """Azure's rule: 3-63 of lower-case letters, digits and single hyphens, starting and ending with a letter or digit."""
    return (3 <= len(name) <= 63 and name[0] != "-" and name[-1] != "-" and "--" not in name
            and all(c in "abcdefghijklmnopqrstuvwxyz0123456789-" for c in name))
