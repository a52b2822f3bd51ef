"""The stages a request passes before its handler: api-version, ARM's throttle, Microsoft.Network's limits, faults."""

from __future__ import annotations

import math
import uuid

from . import moves
from .errors import ArmError, bad_request
from .estate import ArmEstate
from .faults import Fault, Faults
from .ids import ResourceId
from .messages import Request, Response, seconds
from .strict import another_operation
from .throttle import ProviderWindows, Throttle

API_VERSIONS = {"2026-03-01"}
PERMISSIONS_API_VERSIONS = {"2022-04-01", "2015-07-01"}  # Microsoft.Authorization/permissions


def check_api_version(req: Request, kind: str) -> None:
    version = req.query.get("api-version")
    if not version:
        raise bad_request("MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.")
    if kind == "permissions" and version not in PERMISSIONS_API_VERSIONS:
        raise bad_request("InvalidApiVersionParameter", f"The api-version '{version}' is invalid. The supported versions are "
                          f"'{', '.join(sorted(PERMISSIONS_API_VERSIONS))}'.")
    if kind in moves.OPERATION_IDS:
        moves.check_version(kind, version, API_VERSIONS)
    elif version not in API_VERSIONS and kind not in {"op-status", "op-result", "permissions"}:
        raise bad_request(
            "NoRegisteredProviderFound",
            f"No registered resource provider found for API version '{version}'. "
            f"The supported api-versions are '{', '.join(sorted(API_VERSIONS))}'.",
        )


def bucket_of(req: Request) -> str:
    return {"GET": "reads", "DELETE": "deletes"}.get(req.method, "writes")


def take_arm_token(throttle: Throttle, params: dict[str, str], principal: str, bucket: str) -> dict[str, str]:
    """A token from ARM's bucket for the subscription (and principal), or 429; answers the rate-limit headers."""
    allowed, remaining, wait, shared = throttle.take(params["sub"], principal, bucket)
    limit_header = {f"x-ms-ratelimit-remaining-subscription-{bucket}": str(remaining),
                    f"x-ms-ratelimit-remaining-subscription-global-{bucket}": str(shared)}
    if not allowed:
        wait_seconds = max(1, math.ceil(wait))
        raise ArmError(
            429,
            "SubscriptionRequestsThrottled",
            f"Number of '{bucket[:-1]}' requests for subscription '{params['sub']}' actor '{principal}' exceeded. "
            f"Please try again after '{wait_seconds}' seconds after additional tokens are available. "
            "Refer to https://aka.ms/arm-throttling for additional information.",
            {"Retry-After": str(wait_seconds), **limit_header},
        )
    return limit_header


def take_network_token(windows: ProviderWindows, default_region: str, estate: ArmEstate, params: dict[str, str],
                       bucket: str) -> None:
    """Microsoft.Network's 5-minute limits per subscription and region of the resource (after ARM's own buckets)."""
    region = params.get("loc")
    if region is None and "name" in params and "type" in params:
        rid = ResourceId(params["sub"], params["rg"], params["type"], params["name"])
        with estate.lock:
            stored = estate.resources.get(rid.key)
        region = str((stored or {}).get("location") or "") or None
    allowed, _, wait = windows.take(params["sub"], region or default_region, bucket)
    if not allowed:
        wait_seconds = max(1, math.ceil(wait))
        raise ArmError(429, "TooManyRequests",
                       f"The request is being throttled: Microsoft.Network {bucket} of subscription '{params['sub']}' "
                       f"in region '{region or default_region}' exceeded the 5-minute limit. "
                       f"Please retry after {wait_seconds} seconds.", {"Retry-After": str(wait_seconds)})


def early_fault(faults: Faults, fault: Fault | None) -> Response | None:
    """A fault that answers before the handler runs (hang, drop, throttle, status); None to go on."""
    if fault is None:
        return None
    if fault.action == "hang":
        faults.hung += 1
        try:
            faults.released.wait()
        finally:
            faults.hung -= 1
        return None
    if fault.action == "drop":
        return Response(0, drop=True)
    if fault.action == "throttle":
        return Response(
            429,
            {"error": {"code": "SubscriptionRequestsThrottled", "message": fault.message}},
            {"Retry-After": seconds(fault.retry_after)},
        )
    if fault.action == "status":
        return Response(fault.status, {"error": {"code": fault.code, "message": fault.message}})
    return None


def late_fault(estate: ArmEstate, fault: Fault, resp: Response) -> None:
    """A fault on what the handler did: the answer lost, or the operation it started failing or stalling."""
    op = resp.operation
    if fault.action == "lose-response":
        resp.drop = True
    elif fault.action == "fail" and op is not None:
        message = fault.message
        if fault.code == "AnotherOperationInProgress":  # as Azure words it (Azure/bicep#5132)
            message = another_operation(op.subscription, op.location, str(uuid.uuid4()))
        estate.fail_when_done(op, fault.code, message)
    elif fault.action == "stall" and op is not None:
        estate.hold(op)
