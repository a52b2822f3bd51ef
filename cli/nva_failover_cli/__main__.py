"""`python -m nva_failover_cli`: the same as the `nva-failover` command."""

import sys

from .main import main

sys.exit(main())
