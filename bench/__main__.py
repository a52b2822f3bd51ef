"""`python -m bench` (`make bench`): runs bench.cli, which measures every figure and writes bench/results.json and .md."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
