"""ARM-shaped errors the emulator answers with (CloudError bodies)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ArmError(Exception):
    """An error answer: HTTP status, ARM error code and message, extra headers."""

    status: int
    code: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)
    details: list[dict[str, str]] | None = None

    def body(self) -> dict[str, object]:
        error: dict[str, object] = {"code": self.code, "message": self.message}
        if self.details is not None:
            error["details"] = self.details
        return {"error": error}


def not_found(kind: str, name: str, group: str) -> ArmError:
    return ArmError(
        404,
        "ResourceNotFound",
        f"The Resource 'Microsoft.Network/{kind}/{name}' under resource group '{group}' was not found. "
        "For more details please go to https://aka.ms/ARMResourceNotFoundFix",
    )


def bad_request(code: str, message: str) -> ArmError:
    return ArmError(400, code, message)
