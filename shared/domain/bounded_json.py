"""JSON from outside (HTTP bodies, queue messages, the configuration), parsed only within a size and a nesting depth."""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

MAX_DEPTH = 32  # the deepest document we read (the configuration) nests 6 levels; Python's parser recurses per level
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def depth(text: str) -> int:
    """How deeply the arrays and objects of a JSON text nest (strings skipped), without recursing: linear in its size."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(1 if ch in "[{" else -1 for ch in brackets), default=0)


def loads(raw: str | bytes, *, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """json.loads, refusing with ValueError naming the limit what is larger than `max_bytes` or nests deeper than
    `max_depth` (without the limit, a few kilobytes of "[" raise RecursionError from the parser)."""
    size = len(raw.encode("utf-8", errors="surrogatepass") if isinstance(raw, str) else raw)
    if size > max_bytes:
        raise ValueError(f"{size} bytes is more than the {max_bytes} allowed")
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    nested = depth(text)
    if nested > max_depth:
        raise ValueError(f"nested {nested} levels deep, more than the {max_depth} allowed")
    try:
        return json.loads(text)
    except RecursionError:  # not reached within max_depth; kept so that no input escapes as anything but ValueError
        raise ValueError(f"nested more than the {max_depth} levels allowed") from None
