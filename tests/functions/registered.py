"""The app's registered functions, read once (FunctionApp.get_functions() may be called once per process)."""

from __future__ import annotations

from functools import cache
from typing import Any

import function_app


@cache
def functions() -> dict[str, Any]:
    return {str(f.get_function_name()): f for f in function_app.app.get_functions()}
