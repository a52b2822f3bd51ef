"""The few errors the engine speaks, each with a retry meaning; vendor errors are translated into these at the edges."""

from __future__ import annotations


class EngineError(Exception):
    """Base of every error the engine raises on purpose."""


class TransientError(EngineError):
    """Worth retrying: throttling, timeouts, 5xx, a resource busy with another operation."""


class PermanentError(EngineError):
    """Retrying will not help: bad request, authorization, a missing resource."""


class StateConflict(EngineError):
    """A conditional state write lost (412/409): someone else acted; re-read and stand down."""


class WriteNotPermitted(PermanentError):
    """A failover's writes are known not to be permitted to the identity: nothing was written (contract: blocked, not half-done)."""

    why = "needs writes the identity may not make"
    remedy = "Grant them"

    def __init__(self, to: str, missing: list[str]) -> None:
        self.to = to
        self.missing = missing
        super().__init__(f"{self.why}, so nothing was written: {'; '.join(missing)}")


class NotAllWritable(WriteNotPermitted):
    """A move away from a healthy NVA is all or nothing: a resource it needs could not be read, so nothing was written."""

    why = "cannot read every resource it needs (a move away from a healthy NVA is all or nothing)"
    remedy = "Restore them or correct the configuration"


class StateUnavailable(TransientError):
    """The state store cannot be reached; no Azure write may happen without a recorded lock."""


class ConfigError(PermanentError):
    """The configuration was rejected as a whole; the message names every offending field."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


class Refused(EngineError):
    """An operator's request the decisions refuse, in domain words (a code and why); the edge answers it in HTTP."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


class RequestError(EngineError):
    """An operator request that cannot be carried out, with the HTTP status and code of the contract."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status = status
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")
